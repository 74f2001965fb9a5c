"""A SPEKE v2 key server for tests (stdlib Python + the openssl command line), following AWS's
published contract (SPEKE API v2: "Standard payload components", the speke-reference-server's
ServerResponseBuilderV2): POST a CPIX 2.3 request with `X-Speke-Version: 2.0`; the answer fills
every ContentKey with a fresh key and every DRMSystem with the signalling it asks for (Widevine
and PlayReady PSSH and ContentProtectionData, FairPlay HLSSignalingData). With a DeliveryData in
the request the keys come back encrypted for its certificate (document and MAC keys wrapped with
RSA-OAEP, keys in AES-256-CBC with an HMAC-SHA512 ValueMAC; AWS's layout).

Usage: speke_server.py --port P --dir D [--token T] [--fail-first N] [--tls-cert PEM --tls-key PEM]
With --tls-cert and --tls-key it speaks HTTPS (the test makes the CA and the certificate).
GET /documents/NAME answers the file D/NAME (a stored CPIX document, for `--cpix URL`).
Writes D/request-N.xml (each request as received) and D/keys.json (kid -> key, the rule's
intendedTrackType), answers 400 to requests that break the contract, 401 without
`Authorization: Bearer T`, and 503 to the first N requests (to exercise retries)."""
import argparse, base64, hmac, hashlib, json, os, struct, subprocess, sys, uuid, tempfile
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CPIX, PSKC = "urn:dashif:org:cpix", "urn:ietf:params:xml:ns:keyprov:pskc"
DS, ENC = "http://www.w3.org/2000/09/xmldsig#", "http://www.w3.org/2001/04/xmlenc#"
for p, n in [("cpix", CPIX), ("pskc", PSKC), ("ds", DS), ("enc", ENC)]:
    ET.register_namespace(p, n)
WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
AES = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
HMAC = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"
b64 = lambda b: base64.b64encode(b).decode()
q = lambda ns, n: "{%s}%s" % (ns, n)

args = None
state = {"requests": 0, "keys": {}}


class ContractError(Exception):
    pass


def pssh(system, data):
    body = struct.pack(">I", 0) + uuid.UUID(system).bytes + struct.pack(">I", len(data)) + data
    return struct.pack(">I", 8 + len(body)) + b"pssh" + body


def widevine_pssh(kid):
    return pssh(WIDEVINE, b"\x12\x10" + uuid.UUID(kid).bytes + b"\x1a\x0btest-speke")


def playready_pssh(kid):
    xml = ('<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.3.0.0">'
           '<DATA><PROTECTINFO><KIDS><KID ALGID="AESCTR" VALUE="%s"></KID></KIDS></PROTECTINFO>'
           '<LA_URL>https://speke.test/rightsmanager.asmx</LA_URL></DATA></WRMHEADER>'
           % b64(uuid.UUID(kid).bytes_le)).encode("utf-16-le")
    rec = struct.pack("<HH", 1, len(xml)) + xml
    return pssh(PLAYREADY, struct.pack("<IH", 6 + len(rec), 1) + rec)


def openssl(args_, data):
    return subprocess.run(["openssl"] + args_, input=data, stdout=subprocess.PIPE, check=True).stdout


def rsa_oaep(cert_der, data):
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "c.der")
        open(c, "wb").write(cert_der)
        pub = openssl(["x509", "-inform", "DER", "-in", c, "-pubkey", "-noout"], b"")
        k = os.path.join(d, "k.pem")
        open(k, "wb").write(pub)
        return openssl(["pkeyutl", "-encrypt", "-pubin", "-inkey", k,
                        "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1"], data)


def encrypted_value(parent, alg, cipher):
    ev = ET.SubElement(parent, q(PSKC, "EncryptedValue"))
    ET.SubElement(ev, q(ENC, "EncryptionMethod"), Algorithm=alg)
    cd = ET.SubElement(ev, q(ENC, "CipherData"))
    ET.SubElement(cd, q(ENC, "CipherValue")).text = b64(cipher)
    return ev


def answer(body):
    root = ET.fromstring(body)
    if root.tag != q(CPIX, "CPIX"):
        raise ContractError("root is not cpix:CPIX")
    if not root.get("contentId"):
        raise ContractError("no contentId")
    keys = root.findall("./{%s}ContentKeyList/{%s}ContentKey" % (CPIX, CPIX))
    if not keys:
        raise ContractError("no ContentKey")
    kids = [k.get("kid") for k in keys]
    if len(set(kids)) != len(kids):
        raise ContractError("a KID is listed twice")
    rules = root.findall("./{%s}ContentKeyUsageRuleList/{%s}ContentKeyUsageRule" % (CPIX, CPIX))
    track_type = {}
    for r in rules:
        if r.get("kid") not in kids:
            raise ContractError("usage rule for an unknown KID %s" % r.get("kid"))
        if not r.get("intendedTrackType"):
            raise ContractError("usage rule without intendedTrackType")
        track_type[r.get("kid")] = r.get("intendedTrackType")
    if set(track_type) != set(kids):
        raise ContractError("every ContentKey needs a usage rule (SPEKE v2 presets)")
    for d in root.findall("./{%s}DRMSystemList/{%s}DRMSystem" % (CPIX, CPIX)):
        kid, system = d.get("kid"), d.get("systemId").lower()
        if kid not in kids:
            raise ContractError("DRMSystem for an unknown KID %s" % kid)
        for el in list(d):
            name = el.tag.split("}")[1]
            if system == WIDEVINE and name == "PSSH":
                el.text = b64(widevine_pssh(kid))
            elif system == WIDEVINE and name == "ContentProtectionData":
                el.text = b64(('<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">%s</cenc:pssh>'
                               % b64(widevine_pssh(kid))).encode())
            elif system == PLAYREADY and name == "PSSH":
                el.text = b64(playready_pssh(kid))
            elif system == PLAYREADY and name == "ContentProtectionData":
                el.text = b64(('<cenc:pssh xmlns:cenc="urn:mpeg:cenc:2013">%s</cenc:pssh>'
                               % b64(playready_pssh(kid))).encode())
            elif system == FAIRPLAY and name == "HLSSignalingData":
                attrs = ('METHOD=SAMPLE-AES,URI="skd://%s",KEYFORMAT="com.apple.streamingkeydelivery",'
                         'KEYFORMATVERSIONS="1"' % uuid.UUID(kid).hex)
                tag = "#EXT-X-KEY:" if el.get("playlist") == "media" else "#EXT-X-SESSION-KEY:"
                el.text = b64((tag + attrs).encode())
            elif system in (WIDEVINE, PLAYREADY, FAIRPLAY):
                d.remove(el)
            else:
                raise ContractError("unsupported systemId %s" % system)
    delivery = root.find("./{%s}DeliveryDataList/{%s}DeliveryData" % (CPIX, CPIX))
    doc_key = mac_key = None
    if delivery is not None:
        cert = delivery.find("./{%s}DeliveryKey/{%s}X509Data/{%s}X509Certificate" % (CPIX, DS, DS))
        if cert is None:
            raise ContractError("DeliveryData without a certificate")
        der = base64.b64decode(cert.text)
        doc_key, mac_key = os.urandom(32), os.urandom(64)
        for old in delivery.findall(q(CPIX, "DocumentKey")):
            delivery.remove(old)
        dk = ET.SubElement(delivery, q(CPIX, "DocumentKey"), Algorithm=AES)
        secret = ET.SubElement(ET.SubElement(dk, q(CPIX, "Data")), q(PSKC, "Secret"))
        encrypted_value(secret, OAEP, rsa_oaep(der, doc_key))
        mm = ET.SubElement(delivery, q(CPIX, "MACMethod"), Algorithm=HMAC)
        encrypted_value(ET.SubElement(mm, q(CPIX, "Key")), OAEP, rsa_oaep(der, mac_key))
    for k in keys:
        kid = k.get("kid")
        key = os.urandom(16)
        state["keys"][kid] = {"key": key.hex(), "intendedTrackType": track_type[kid]}
        for old in k.findall(q(CPIX, "Data")):
            k.remove(old)
        secret = ET.SubElement(ET.SubElement(k, q(CPIX, "Data")), q(PSKC, "Secret"))
        if doc_key:
            iv = os.urandom(16)
            cipher = iv + openssl(["enc", "-aes-256-cbc", "-K", doc_key.hex(), "-iv", iv.hex()], key)
            encrypted_value(secret, AES, cipher)
            ET.SubElement(secret, q(PSKC, "ValueMAC")).text = b64(hmac.new(mac_key, cipher, hashlib.sha512).digest())
        else:
            ET.SubElement(secret, q(PSKC, "PlainValue")).text = b64(key)
    with open(os.path.join(args.dir, "keys.json"), "w") as f:
        json.dump(state["keys"], f)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def reply(self, code, body, ctype="text/plain"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Speke-Version", "2.0")
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        # A stored CPIX document, for `--cpix URL`: GET /documents/NAME answers D/NAME.
        name = self.path.rsplit("/", 1)[-1]
        path = os.path.join(args.dir, name)
        if not self.path.startswith("/documents/") or not name or not os.path.isfile(path):
            return self.reply(404, b"no such document")
        with open(path, "rb") as f:
            self.reply(200, f.read(), "application/xml")

    def do_POST(self):
        state["requests"] += 1
        n = state["requests"]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with open(os.path.join(args.dir, "request-%d.xml" % n), "wb") as f:
            f.write(body)
        if n <= args.fail_first:
            return self.reply(503, b"busy, try again")
        if self.headers.get("X-Speke-Version") != "2.0":
            return self.reply(400, b"X-Speke-Version: 2.0 is required")
        if args.token and self.headers.get("Authorization") != "Bearer " + args.token:
            return self.reply(401, b"bad token")
        try:
            self.reply(200, answer(body), "application/xml")
        except (ContractError, ET.ParseError) as e:
            self.reply(400, str(e).encode())


def main():
    global args
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--dir", required=True)
    p.add_argument("--token")
    p.add_argument("--fail-first", type=int, default=0)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    args = p.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    if args.tls_cert:
        import ssl
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = ctx.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
