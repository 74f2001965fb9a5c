//! Fuzzes the CDN token parsers and verifiers (`vodpack_control::cdn`) on untrusted text: Akamai
//! EdgeAuth tokens, CloudFront signed URLs, cookies and policies, Media CDN signed URLs and
//! `Edge-Cache-Cookie`s, plus the wildcard, CIDR, cookie and query helpers. Input: a selector
//! byte, then up to three fields separated by `\n` (token or URL, path, cookie header).
#![no_main]
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use vodpack_control::cdn::akamai::{AkamaiVerifier, Algorithm};
use vodpack_control::cdn::cloudfront::{self, CloudFrontVerifier};
use vodpack_control::cdn::mediacdn::{MediaCdnSigner, MediaCdnVerifier};
use vodpack_control::cdn::{cookie_value, query_value, wildcard_match, Cidr};

struct Verifiers {
    akamai: AkamaiVerifier,
    akamai_escaped: AkamaiVerifier,
    cloudfront: CloudFrontVerifier,
    mediacdn: MediaCdnVerifier,
}

fn verifiers() -> &'static Verifiers {
    static V: OnceLock<Verifiers> = OnceLock::new();
    V.get_or_init(|| {
        let akamai = AkamaiVerifier::new(&["0123456789abcdef", "00"], Algorithm::Sha256).unwrap();
        let mut akamai_escaped = AkamaiVerifier::new(&["ff"], Algorithm::Md5).unwrap();
        akamai_escaped.escape_early = true;
        akamai_escaped.salt = Some("s".into());
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let key = rsa::RsaPrivateKey::new(&mut rng, 1024).unwrap();
        let mut cf = CloudFrontVerifier::new();
        cf.add_key("KFUZZ", key.to_public_key()).unwrap();
        let signer =
            MediaCdnSigner::from_base64("k", "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=")
                .unwrap();
        let mut mc = MediaCdnVerifier::new();
        mc.add_key("k", &signer.public_key_b64()).unwrap();
        Verifiers {
            akamai,
            akamai_escaped,
            cloudfront: cf,
            mediacdn: mc,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let text = String::from_utf8_lossy(rest);
    let mut parts = text.splitn(3, '\n');
    let a = parts.next().unwrap_or("");
    let b = parts.next().unwrap_or("");
    let c = parts.next().unwrap_or("");
    let v = verifiers();
    let ip = match sel & 3 {
        0 => None,
        1 => Some("192.0.2.1".parse().unwrap()),
        2 => Some("2001:db8::1".parse().unwrap()),
        _ => Some("::ffff:10.0.0.1".parse().unwrap()),
    };
    let now = u64::from(sel) << 24;
    match sel >> 2 & 7 {
        0 => {
            let _ = v.akamai.verify(a, b, ip, now);
            let _ = v.akamai_escaped.verify(a, b, ip, now);
        }
        1 => {
            let _ = v.cloudfront.verify_url(a, ip, now);
            let _ = v.cloudfront.verify_cookies(b, c, ip, now);
        }
        2 => {
            let _ = cloudfront::parse_policy(a);
            let _ = cloudfront::cf_b64decode(b);
        }
        3 => {
            let _ = v.mediacdn.verify_url(a, now);
            let _ = v.mediacdn.verify_cookie(b, c, now);
        }
        4 => {
            let _ = wildcard_match(a, b);
            let _ = Cidr::parse(a).map(|n| ip.map(|i| n.contains(i)));
        }
        _ => {
            let _ = cookie_value(a, b);
            let _ = query_value(a, b);
        }
    }
});
