//! CPIX document encryption (CPIX 2.3 §8): a 256-bit document key wrapped with RSA-OAEP for each
//! recipient's certificate, content keys encrypted with it in AES-256-CBC (the IV first, then the
//! ciphertext, PKCS#7 padding, as XML Encryption's aes256-cbc says), and an HMAC-SHA512 over each
//! encrypted value (its IV and ciphertext) with a MAC key that is wrapped like the document key.
use super::model::{Document, EncryptedValue, KeyValue};
use super::{cpix_err, ALG_AES256_CBC, ALG_HMAC_SHA512, ALG_RSA_OAEP, ALG_RSA_OAEP_11};
use crate::error::{Error, Result};
use aes::Aes256;
use cbc::cipher::block_padding::Pkcs7;
use cbc::cipher::{BlockDecryptMut, BlockEncryptMut, KeyIvInit};
use hmac::{Hmac, Mac};
use rand::rngs::OsRng;
use rand::RngCore;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use sha2::Sha512;
use std::path::Path;
use x509_cert::der::{DecodePem, Encode};

type HmacSha512 = Hmac<Sha512>;

/// A content key in the clear, with what the document says about its use.
#[derive(Clone, PartialEq, Eq)]
pub struct PlainKey {
    /// The KID.
    pub kid: [u8; 16],
    /// The AES-128 content key.
    pub key: [u8; 16],
    /// `@explicitIV`.
    pub explicit_iv: Option<Vec<u8>>,
    /// `@commonEncryptionScheme`.
    pub scheme: Option<String>,
}

impl std::fmt::Debug for PlainKey {
    // Key bytes never reach a log.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlainKey")
            .field("kid", &hex::encode(self.kid))
            .field("key", &"<redacted>")
            .finish()
    }
}

/// A recipient: its certificate (DER, as the document embeds it) and RSA public key.
#[derive(Debug, Clone)]
pub struct Recipient {
    /// The certificate, DER.
    pub der: Vec<u8>,
    /// Its RSA public key.
    pub public_key: RsaPublicKey,
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| Error::io(path, e))
}

/// Reads an RSA private key (PEM: PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`).
pub fn load_private_key(path: &Path) -> Result<RsaPrivateKey> {
    let pem = read(path)?;
    RsaPrivateKey::from_pkcs8_pem(&pem)
        .or_else(|_| RsaPrivateKey::from_pkcs1_pem(&pem))
        .map_err(|_| {
            Error::Key(format!(
                "{}: not an RSA private key in PEM (PKCS#8 or PKCS#1)",
                path.display()
            ))
        })
}

/// Parses a DER certificate's RSA public key.
pub fn certificate_key(der: &[u8]) -> Result<RsaPublicKey> {
    use x509_cert::der::Decode;
    let cert = x509_cert::Certificate::from_der(der)
        .map_err(|e| cpix_err(format!("a certificate is not X.509 DER: {e}")))?;
    let spki = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| cpix_err(format!("certificate key: {e}")))?;
    RsaPublicKey::from_public_key_der(&spki)
        .map_err(|_| cpix_err("a certificate's key is not an RSA key"))
}

/// Reads an X.509 certificate (PEM) with an RSA key.
pub fn load_certificate(path: &Path) -> Result<Recipient> {
    let pem = read(path)?;
    let cert = x509_cert::Certificate::from_pem(pem.as_bytes()).map_err(|e| {
        Error::Key(format!(
            "{}: not an X.509 certificate in PEM: {e}",
            path.display()
        ))
    })?;
    let der = cert
        .to_der()
        .map_err(|e| Error::Key(format!("{}: {e}", path.display())))?;
    let public_key =
        certificate_key(&der).map_err(|e| Error::Key(format!("{}: {e}", path.display())))?;
    Ok(Recipient { der, public_key })
}

fn oaep(v: &EncryptedValue) -> Result<Oaep> {
    if v.algorithm != ALG_RSA_OAEP && v.algorithm != ALG_RSA_OAEP_11 {
        return Err(cpix_err(format!(
            "key wrapping '{}' is not supported (expected {ALG_RSA_OAEP})",
            v.algorithm
        )));
    }
    match v.digest.as_deref() {
        None | Some("http://www.w3.org/2000/09/xmldsig#sha1") => Ok(Oaep::new::<sha1::Sha1>()),
        Some("http://www.w3.org/2001/04/xmlenc#sha256") => {
            Ok(Oaep::new_with_mgf_hash::<sha2::Sha256, sha1::Sha1>())
        }
        Some(other) => Err(cpix_err(format!(
            "RSA-OAEP digest '{other}' is not supported"
        ))),
    }
}

fn unwrap_rsa(key: &RsaPrivateKey, v: &EncryptedValue, what: &str) -> Result<Vec<u8>> {
    key.decrypt(oaep(v)?, &v.cipher).map_err(|_| {
        cpix_err(format!(
            "the {what} cannot be unwrapped with --cpix-private-key (wrong private key?)"
        ))
    })
}

/// AES-256-CBC: `IV || ciphertext` to plaintext (PKCS#7).
fn aes_cbc_decrypt(key: &[u8], data: &[u8], what: &str) -> Result<Vec<u8>> {
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return Err(cpix_err(format!(
            "{what}: {} bytes is not an IV and AES-256-CBC blocks",
            data.len()
        )));
    }
    let (iv, ct) = data.split_at(16);
    let mut buf = ct.to_vec();
    let plain = cbc::Decryptor::<Aes256>::new_from_slices(key, iv)
        .map_err(|_| cpix_err(format!("{what}: the document key is not 256 bits")))?
        .decrypt_padded_mut::<Pkcs7>(&mut buf)
        .map_err(|_| cpix_err(format!("{what}: bad padding (wrong document key?)")))?;
    Ok(plain.to_vec())
}

/// AES-256-CBC with a fresh random IV: returns `IV || ciphertext`.
pub fn aes_cbc_encrypt(key: &[u8; 32], plain: &[u8]) -> Vec<u8> {
    let mut iv = [0u8; 16];
    OsRng.fill_bytes(&mut iv);
    let mut buf = vec![0u8; plain.len() + 16];
    buf[..plain.len()].copy_from_slice(plain);
    let ct = cbc::Encryptor::<Aes256>::new(key.into(), &iv.into())
        .encrypt_padded_mut::<Pkcs7>(&mut buf, plain.len())
        .expect("the buffer has a block of room for the padding");
    [iv.as_slice(), ct].concat()
}

/// HMAC-SHA512 of `data`.
pub fn hmac_sha512(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut m = HmacSha512::new_from_slice(key).expect("HMAC takes any key length");
    m.update(data);
    m.finalize().into_bytes().to_vec()
}

/// RSA-OAEP (SHA-1, MGF1-SHA-1: `rsa-oaep-mgf1p`) for `to`.
pub fn wrap_rsa(to: &RsaPublicKey, data: &[u8]) -> Result<Vec<u8>> {
    to.encrypt(&mut OsRng, Oaep::new::<sha1::Sha1>(), data)
        .map_err(|e| Error::Key(format!("cpix: RSA-OAEP wrapping failed: {e}")))
}

/// The document's content keys in the clear. Encrypted keys need `private_key`: the
/// `DeliveryData` for it gives the document key and the MAC key; every encrypted key's MAC is
/// checked before it is decrypted. Keys must be 16 bytes.
pub fn decrypt_keys(doc: &Document, private_key: Option<&RsaPrivateKey>) -> Result<Vec<PlainKey>> {
    let encrypted = doc
        .keys
        .iter()
        .any(|k| matches!(k.value, KeyValue::Encrypted(_)));
    let secrets = if encrypted {
        let Some(pk) = private_key else {
            return Err(cpix_err(
                "the content keys are encrypted: give --cpix-private-key PEM",
            ));
        };
        Some(document_secrets(doc, pk)?)
    } else {
        None
    };
    doc.keys
        .iter()
        .map(|k| {
            let what = format!("ContentKey {}", crate::cenc::keys::uuid_string(&k.kid));
            let bytes = match &k.value {
                KeyValue::Plain(b) => b.clone(),
                KeyValue::Absent => {
                    return Err(cpix_err(format!("{what} has no key value")));
                }
                KeyValue::Encrypted(v) => {
                    let (doc_key, mac_key) = secrets.as_ref().expect("set when encrypted");
                    if v.algorithm != ALG_AES256_CBC {
                        return Err(cpix_err(format!(
                            "{what}: encryption '{}' is not supported (expected {ALG_AES256_CBC})",
                            v.algorithm
                        )));
                    }
                    let mac = v
                        .mac
                        .as_ref()
                        .ok_or_else(|| cpix_err(format!("{what} has no ValueMAC")))?;
                    let mut m = HmacSha512::new_from_slice(mac_key).expect("any key length");
                    m.update(&v.cipher);
                    m.verify_slice(mac).map_err(|_| {
                        cpix_err(format!(
                            "{what}: its ValueMAC does not match (the document was altered or is not for this key)"
                        ))
                    })?;
                    aes_cbc_decrypt(doc_key, &v.cipher, &what)?
                }
            };
            let key: [u8; 16] = bytes.as_slice().try_into().map_err(|_| {
                cpix_err(format!("{what}: {} bytes, expected a 16-byte key", bytes.len()))
            })?;
            if let Some(iv) = &k.explicit_iv {
                if iv.len() != 16 && iv.len() != 8 {
                    return Err(cpix_err(format!(
                        "{what}: explicitIV has {} bytes (8 or 16 expected)",
                        iv.len()
                    )));
                }
            }
            Ok(PlainKey {
                kid: k.kid,
                key,
                explicit_iv: k.explicit_iv.clone(),
                scheme: k.scheme.clone(),
            })
        })
        .collect()
}

/// The document key and the MAC key of the `DeliveryData` addressed to `pk`.
fn document_secrets(doc: &Document, pk: &RsaPrivateKey) -> Result<([u8; 32], Vec<u8>)> {
    if doc.delivery.is_empty() {
        return Err(cpix_err(
            "the content keys are encrypted but the document has no DeliveryDataList",
        ));
    }
    let ours = pk.to_public_key();
    let mut candidates = doc.delivery.iter().filter(|d| match &d.certificate {
        Some(der) => certificate_key(der).is_ok_and(|k| k == ours),
        None => true,
    });
    let Some(dd) = candidates.next() else {
        return Err(cpix_err(
            "no DeliveryData is addressed to the certificate of --cpix-private-key (wrong private key?)",
        ));
    };
    let doc_key: [u8; 32] = unwrap_rsa(pk, &dd.document_key, "document key")?
        .try_into()
        .map_err(|_| cpix_err("the document key is not 256 bits"))?;
    let Some((alg, mac)) = &dd.mac else {
        return Err(cpix_err(
            "the DeliveryData has no MACMethod: encrypted keys must carry a MAC (CPIX 2.3 §8)",
        ));
    };
    if alg != ALG_HMAC_SHA512 {
        return Err(cpix_err(format!(
            "MAC '{alg}' is not supported (expected {ALG_HMAC_SHA512})"
        )));
    }
    // AWS's SPEKE reference server and DASH-IF's test vectors wrap the MAC key with RSA-OAEP;
    // a MAC key encrypted with the document key (aes256-cbc) is read too.
    let mac_key = if mac.algorithm == ALG_AES256_CBC {
        aes_cbc_decrypt(&doc_key, &mac.cipher, "MAC key")?
    } else {
        unwrap_rsa(pk, mac, "MAC key")?
    };
    Ok((doc_key, mac_key))
}

/// Fresh document secrets for writing: a 256-bit document key and a 512-bit MAC key.
pub fn fresh_secrets() -> ([u8; 32], [u8; 64]) {
    let mut d = [0u8; 32];
    let mut m = [0u8; 64];
    OsRng.fill_bytes(&mut d);
    OsRng.fill_bytes(&mut m);
    (d, m)
}
