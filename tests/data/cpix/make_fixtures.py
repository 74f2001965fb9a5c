"""Writes the CPIX 2.3 fixtures from the specs (DASH-IF CPIX 2.3 §8 encryption, AWS SPEKE v2
payloads): plain.xml, encrypted-dashif.xml (MAC key under cpix:Key, as DASH-IF's test vectors
lay it out), encrypted-aws.xml (MAC key in a pskc:EncryptedValue, as AWS's SPEKE reference server
writes it), tampered-mac.xml, duplicate-kid.xml, no-rule.xml, key-period.xml and
scheme-cbcs.xml. Keys and KIDs are fixed (KEYS below); tests read them from keys.json.
RSA-OAEP and AES-256-CBC are done by the openssl command line, HMAC-SHA512 by Python."""
import base64, hmac, hashlib, json, os, struct, subprocess, uuid

KEYS = [  # label, kid (UUID), key (hex), intendedTrackType, filter
    ("AUDIO", "0a0b0c0d-0001-4000-8000-00000000a0d1", "a1a2a3a4a5a6a7a8a9aaabacadaeaf01",
     '<cpix:AudioFilter minChannels="1" maxChannels="2"/>'),
    ("SD", "0a0b0c0d-0002-4000-8000-0000000005d0", "5d5d5d5d000102030405060708090a0b",
     '<cpix:VideoFilter maxPixels="442368"/>'),
    ("HD", "0a0b0c0d-0003-4000-8000-0000000000hd".replace("hd", "4d"), "4d4d4d4d101112131415161718191a1b",
     '<cpix:VideoFilter minPixels="442369" maxPixels="2073600"/>'),
    ("UHD1", "0a0b0c0d-0004-4000-8000-0000000004c1", "04c104c1202122232425262728292a2b",
     '<cpix:VideoFilter minPixels="2073601" maxPixels="8847360"/>'),
]
WIDEVINE = "edef8ba9-79d6-4ace-a3c8-27dcd51d21ed"
PLAYREADY = "9a04f079-9840-4286-ab92-e65be0885f95"
FAIRPLAY = "94ce86fb-07ff-4f43-adb8-93d2fa968ca2"
NS = ('xmlns:cpix="urn:dashif:org:cpix" xmlns:pskc="urn:ietf:params:xml:ns:keyprov:pskc" '
      'xmlns:ds="http://www.w3.org/2000/09/xmldsig#" xmlns:enc="http://www.w3.org/2001/04/xmlenc#"')
AES = "http://www.w3.org/2001/04/xmlenc#aes256-cbc"
OAEP = "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p"
HMAC = "http://www.w3.org/2001/04/xmldsig-more#hmac-sha512"

b64 = lambda b: base64.b64encode(b).decode()


def pssh(system, kid, data):
    """A version-0 pssh box (ISO/IEC 23001-7 §8.1)."""
    body = struct.pack(">I", 0) + uuid.UUID(system).bytes + struct.pack(">I", len(data)) + data
    return struct.pack(">I", 8 + len(body)) + b"pssh" + body


def widevine_pssh(kid):
    # WidevinePsshData: key_ids (field 2), provider (3), content_id (4).
    kb = uuid.UUID(kid).bytes
    data = b"\x12\x10" + kb + b"\x1a\x0cvodpack-test" + b"\x22\x04cpix"
    return pssh(WIDEVINE, kid, data)


def playready_pssh(kid):
    # A PlayReady Object with one WRM header record (KID little-endian GUID, base64).
    guid = uuid.UUID(kid).bytes_le
    xml = ('<WRMHEADER xmlns="http://schemas.microsoft.com/DRM/2007/03/PlayReadyHeader" version="4.3.0.0">'
           '<DATA><PROTECTINFO><KIDS><KID ALGID="AESCTR" VALUE="%s"></KID></KIDS></PROTECTINFO>'
           '</DATA></WRMHEADER>' % b64(guid)).encode("utf-16-le")
    record = struct.pack("<HH", 1, len(xml)) + xml
    pro = struct.pack("<IH", 6 + len(record), 1) + record
    return pssh(PLAYREADY, kid, pro)


def fairplay(kid):
    uri = "skd://" + uuid.UUID(kid).hex
    attrs = 'METHOD=SAMPLE-AES,URI="%s",KEYFORMAT="com.apple.streamingkeydelivery",KEYFORMATVERSIONS="1"' % uri
    return "#EXT-X-KEY:" + attrs, "#EXT-X-SESSION-KEY:" + attrs


def run(args, data):
    return subprocess.run(args, input=data, stdout=subprocess.PIPE, check=True).stdout


def rsa_oaep(cert, data):
    pub = run(["openssl", "x509", "-pubkey", "-noout", "-in", cert], b"")
    with open(".pub.tmp", "wb") as f:
        f.write(pub)
    try:
        return run(["openssl", "pkeyutl", "-encrypt", "-pubin", "-inkey", ".pub.tmp",
                    "-pkeyopt", "rsa_padding_mode:oaep", "-pkeyopt", "rsa_oaep_md:sha1"], data)
    finally:
        os.remove(".pub.tmp")


def aes_cbc(key, iv, data):
    return iv + run(["openssl", "enc", "-aes-256-cbc", "-K", key.hex(), "-iv", iv.hex()], data)


def cert_der(path):
    return run(["openssl", "x509", "-in", path, "-outform", "DER"], b"")


def enc_value(alg, cipher, indent):
    return ('%s<enc:EncryptionMethod Algorithm="%s"/>\n%s<enc:CipherData><enc:CipherValue>%s'
            '</enc:CipherValue></enc:CipherData>\n' % (indent, alg, indent, b64(cipher)))


def document(keys=KEYS, encrypt=None, tamper=False, rules=True, extra_rule="", scheme=None,
             duplicate=False):
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<cpix:CPIX %s contentId="cpix-fixture" version="2.3">\n' % NS]
    doc_key = mac_key = None
    if encrypt:
        doc_key, mac_key = os.urandom(32), os.urandom(64)
        out.append("  <cpix:DeliveryDataList>\n    <cpix:DeliveryData>\n")
        out.append("      <cpix:DeliveryKey><ds:X509Data><ds:X509Certificate>%s</ds:X509Certificate>"
                   "</ds:X509Data></cpix:DeliveryKey>\n" % b64(cert_der("recipient.pem")))
        out.append('      <cpix:DocumentKey Algorithm="%s"><cpix:Data><pskc:Secret><pskc:EncryptedValue>\n' % AES)
        out.append(enc_value(OAEP, rsa_oaep("recipient.pem", doc_key), "        "))
        out.append("      </pskc:EncryptedValue></pskc:Secret></cpix:Data></cpix:DocumentKey>\n")
        out.append('      <cpix:MACMethod Algorithm="%s">\n        <cpix:Key>\n' % HMAC)
        wrapped = rsa_oaep("recipient.pem", mac_key)
        if encrypt == "aws":
            out.append("          <pskc:EncryptedValue>\n" + enc_value(OAEP, wrapped, "            ")
                       + "          </pskc:EncryptedValue>\n")
        else:
            out.append(enc_value(OAEP, wrapped, "          "))
        out.append("        </cpix:Key>\n      </cpix:MACMethod>\n    </cpix:DeliveryData>\n  </cpix:DeliveryDataList>\n")
    out.append("  <cpix:ContentKeyList>\n")
    listed = list(keys) + ([keys[1]] if duplicate else [])
    for i, (label, kid, key, _) in enumerate(listed):
        attrs = ' commonEncryptionScheme="%s"' % scheme if scheme else ""
        out.append('    <cpix:ContentKey kid="%s"%s><cpix:Data><pskc:Secret>\n' % (kid, attrs))
        if encrypt:
            cipher = aes_cbc(doc_key, os.urandom(16), bytes.fromhex(key))
            mac = hmac.new(mac_key, cipher, hashlib.sha512).digest()
            if tamper and i == 0:
                mac = bytes([mac[0] ^ 1]) + mac[1:]
            out.append("      <pskc:EncryptedValue>\n" + enc_value(AES, cipher, "        ")
                       + "      </pskc:EncryptedValue>\n      <pskc:ValueMAC>%s</pskc:ValueMAC>\n" % b64(mac))
        else:
            out.append("      <pskc:PlainValue>%s</pskc:PlainValue>\n" % b64(bytes.fromhex(key)))
        out.append("    </pskc:Secret></cpix:Data></cpix:ContentKey>\n")
    out.append("  </cpix:ContentKeyList>\n  <cpix:DRMSystemList>\n")
    for label, kid, key, _ in keys:
        out.append('    <cpix:DRMSystem systemId="%s" kid="%s"><cpix:PSSH>%s</cpix:PSSH></cpix:DRMSystem>\n'
                   % (WIDEVINE, kid, b64(widevine_pssh(kid))))
        out.append('    <cpix:DRMSystem systemId="%s" kid="%s"><cpix:PSSH>%s</cpix:PSSH></cpix:DRMSystem>\n'
                   % (PLAYREADY, kid, b64(playready_pssh(kid))))
        if label != "AUDIO" or True:
            media, master = fairplay(kid)
            out.append('    <cpix:DRMSystem systemId="%s" kid="%s">\n'
                       '      <cpix:HLSSignalingData playlist="media">%s</cpix:HLSSignalingData>\n'
                       '      <cpix:HLSSignalingData playlist="master">%s</cpix:HLSSignalingData>\n'
                       '    </cpix:DRMSystem>\n' % (FAIRPLAY, kid, b64(media.encode()), b64(master.encode())))
    out.append("  </cpix:DRMSystemList>\n")
    if rules:
        out.append("  <cpix:ContentKeyUsageRuleList>\n")
        for label, kid, key, filt in keys:
            out.append('    <cpix:ContentKeyUsageRule kid="%s" intendedTrackType="%s">%s</cpix:ContentKeyUsageRule>\n'
                       % (kid, label, filt))
        out.append(extra_rule)
        out.append("  </cpix:ContentKeyUsageRuleList>\n")
    out.append("</cpix:CPIX>\n")
    return "".join(out)


def write(name, text):
    with open(name, "w") as f:
        f.write(text)


write("plain.xml", document())
write("encrypted-dashif.xml", document(encrypt="dashif"))
write("encrypted-aws.xml", document(encrypt="aws"))
write("tampered-mac.xml", document(encrypt="dashif", tamper=True))
write("duplicate-kid.xml", document(duplicate=True))
# Audio left without a rule: only the video rules.
write("no-rule.xml", document(keys=KEYS[1:]))
write("key-period.xml", document().replace(
    '<cpix:ContentKeyUsageRuleList>',
    '<cpix:ContentKeyPeriodList><cpix:ContentKeyPeriod id="p0" index="0"/></cpix:ContentKeyPeriodList>\n'
    '  <cpix:ContentKeyUsageRuleList>').replace(
    'intendedTrackType="AUDIO">', 'intendedTrackType="AUDIO"><cpix:KeyPeriodFilter periodId="p0"/>'))
write("scheme-cbcs.xml", document(scheme="cbcs"))
json.dump({"keys": [{"label": l, "kid": uuid.UUID(k).hex, "key": v} for l, k, v, _ in KEYS]},
          open("keys.json", "w"), indent=1)
