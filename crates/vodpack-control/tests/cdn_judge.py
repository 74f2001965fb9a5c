"""Judge for tests/cdn_judges.rs: the CDN vendors' own signing code, driven by JSON on stdin.

Commands (argv[1]):
  keys   -> {"rsa_pkcs8": PEM, "rsa_pkcs1": PEM, "rsa_public": PEM}   (fresh 2048-bit key)
  judge  <- {"akamai": [...], "cloudfront": {...}, "mediacdn": {...}}
         -> the same shape: for every case, what the vendor code generates, and whether it
            verifies the signature vodpack produced (cryptography, where the library cannot).

Akamai: akamai-edgeauth 0.3.2 (EdgeAuth.generate_acl_token / generate_url_token).
CloudFront: botocore's CloudFrontSigner (generate_presigned_url, build_policy) with an RSA-SHA1
PKCS#1 v1.5 signer from `cryptography`.
Media CDN: the signing steps of Google's published Python samples (media-cdn/snippets.py in
GoogleCloudPlatform/python-docs-samples: sign_url, sign_url_prefix, sign_cookie), with
`cryptography`'s Ed25519.
"""

import base64
import datetime
import json
import sys
import urllib.parse

from akamai.edgeauth import EdgeAuth
from botocore.signers import CloudFrontSigner
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa


def utc(epoch):
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.timezone.utc)


def keys():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = lambda fmt: key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.NoEncryption()
    ).decode()
    return {
        "rsa_pkcs8": pem(serialization.PrivateFormat.PKCS8),
        "rsa_pkcs1": pem(serialization.PrivateFormat.TraditionalOpenSSL),
        "rsa_public": key.public_key()
        .public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        .decode(),
    }


def akamai(case):
    ea = EdgeAuth(
        key=case["key"],
        algorithm=case["algorithm"],
        start_time=case.get("start_time"),
        end_time=case["end_time"],
        ip=case.get("ip"),
        session_id=case.get("session_id"),
        payload=case.get("payload"),
        salt=case.get("salt"),
        escape_early=case["escape_early"],
    )
    if "acl" in case:
        return {"token": ea.generate_acl_token(case["acl"])}
    return {"token": ea.generate_url_token(case["url"])}


def cf_b64decode(s):
    return base64.b64decode(s.replace("-", "+").replace("_", "=").replace("~", "/"))


def cloudfront(job):
    key = serialization.load_pem_private_key(job["pem"].encode(), password=None)
    public = key.public_key()
    signer = CloudFrontSigner(
        job["key_pair_id"], lambda m: key.sign(m, padding.PKCS1v15(), hashes.SHA1())
    )
    out = []
    for case in job["cases"]:
        if case.get("custom"):
            policy = signer.build_policy(
                case["resource"],
                utc(case["expires"]),
                date_greater_than=utc(case["not_before"]) if case.get("not_before") else None,
                ip_address=case.get("ip_address"),
            )
            url = signer.generate_presigned_url(case["url"], policy=policy)
        else:
            policy = signer.build_policy(case["url"], utc(case["expires"]))
            url = signer.generate_presigned_url(case["url"], date_less_than=utc(case["expires"]))
        # Verify vodpack's signature over the policy with the public key.
        params = urllib.parse.parse_qs(urllib.parse.urlsplit(case["ours"]).query)
        try:
            public.verify(
                cf_b64decode(params["Signature"][-1]),
                policy.encode(),
                padding.PKCS1v15(),
                hashes.SHA1(),
            )
            ours_ok = True
        except (InvalidSignature, KeyError, ValueError):
            ours_ok = False
        out.append({"url": url, "policy": policy, "ours_verifies": ours_ok})
    return out


def b64u(data):
    return base64.urlsafe_b64encode(data).decode()


def mediacdn(job):
    # Google's samples take the base64url seed and sign with Ed25519PrivateKey.from_private_bytes.
    key = ed25519.Ed25519PrivateKey.from_private_bytes(base64.urlsafe_b64decode(job["seed"]))
    public = key.public_key()
    name = job["key_name"]
    out = []
    for case in job["cases"]:
        url = case["url"].strip()
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query, keep_blank_values=True)
        sep = "&" if query else "?"
        exp = case["expires"]
        if case["kind"] == "url":
            signed = f"{url}{sep}Expires={exp}&KeyName={name}"
            sig = b64u(key.sign(signed.encode()))
            theirs = f"{signed}&Signature={sig}"
            ours_signed, ours_sig = case["ours"].rsplit("&Signature=", 1)
        elif case["kind"] == "prefix":
            prefix = b64u(case["prefix"].strip().encode())
            policy = f"URLPrefix={prefix}&Expires={exp}&KeyName={name}"
            sig = b64u(key.sign(policy.encode()))
            theirs = f"{url}{sep}{policy}&Signature={sig}"
            ours_signed, ours_sig = case["ours"].rsplit("&Signature=", 1)
            ours_signed = ours_signed[ours_signed.rindex("URLPrefix="):]
        else:
            prefix = b64u(case["prefix"].strip().encode())
            policy = f"URLPrefix={prefix}:Expires={exp}:KeyName={name}"
            sig = b64u(key.sign(policy.encode()))[:-2]
            theirs = f"Edge-Cache-Cookie={policy}:Signature={sig}"
            ours_signed, ours_sig = case["ours"].split("=", 1)[1].rsplit(":Signature=", 1)
        try:
            pad = "=" * (-len(ours_sig) % 4)
            public.verify(base64.urlsafe_b64decode(ours_sig + pad), ours_signed.encode())
            ours_ok = True
        except (InvalidSignature, ValueError):
            ours_ok = False
        out.append({"signed": theirs, "ours_verifies": ours_ok})
    return out


def main():
    if sys.argv[1] == "keys":
        print(json.dumps(keys()))
        return
    job = json.load(sys.stdin)
    print(
        json.dumps(
            {
                "akamai": [akamai(c) for c in job["akamai"]],
                "cloudfront": cloudfront(job["cloudfront"]),
                "mediacdn": mediacdn(job["mediacdn"]),
            }
        )
    )


main()
