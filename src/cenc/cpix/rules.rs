//! Which content key each rendition uses: the document's `ContentKeyUsageRuleList` applied to
//! what vodpack knows of every rendition (CPIX 2.3, ContentKeyUsageRule). A rule
//! matches when its `intendedTrackType` (if any) names the rendition's class and, for every kind
//! of filter it has, one filter of that kind matches; each rendition must be matched by the rules
//! of exactly one key (docs/cpix.md).
use super::cpix_err;
use super::model::UsageRule;
use crate::cenc::keys::uuid_string;
#[cfg(test)]
use crate::cenc::keys::KeyClasses;
use crate::error::Result;
use crate::media::TrackKind;

/// What the usage rules look at in a rendition.
#[derive(Debug, Clone, Default)]
pub struct RenditionFacts {
    /// The rendition id (named in errors).
    pub id: String,
    /// Its key class: AUDIO, SD, HD, UHD1 or UHD2 ([`crate::cenc::keys::KeyClasses::class_of`]).
    pub class: String,
    /// Video or audio (anything else matches no Video/AudioFilter).
    pub kind: Option<TrackKind>,
    /// width × height, for video.
    pub pixels: Option<u64>,
    /// Frames per second, for video.
    pub fps: Option<f64>,
    /// PQ or HLG transfer.
    pub hdr: bool,
    /// Channels, for audio.
    pub channels: Option<u64>,
    /// Average bitrate in bits per second.
    pub bitrate: Option<u64>,
    /// The labels a `LabelFilter` may name: the input's key label (`key=` of the descriptor)
    /// and the rendition id.
    pub labels: Vec<String>,
}

fn in_range(v: Option<u64>, min: Option<u64>, max: Option<u64>) -> bool {
    match v {
        Some(v) => min.is_none_or(|m| v >= m) && max.is_none_or(|m| v <= m),
        None => min.is_none() && max.is_none(),
    }
}

fn track_type_matches(t: &str, r: &RenditionFacts) -> bool {
    let video = r.kind == Some(TrackKind::Video);
    t.split('+').map(str::trim).any(|tok| {
        let tok = tok.to_ascii_uppercase();
        tok == r.class
            || tok == "ALL"
            || (tok == "VIDEO" && video)
            || (tok == "UHD" && (r.class == "UHD1" || r.class == "UHD2"))
    })
}

/// True when `rule` applies to `r`.
pub fn rule_matches(rule: &UsageRule, r: &RenditionFacts) -> bool {
    if let Some(t) = &rule.intended_track_type {
        if !track_type_matches(t, r) {
            return false;
        }
    }
    let video = r.kind == Some(TrackKind::Video);
    let audio = r.kind == Some(TrackKind::Audio);
    let video_ok = rule.video.is_empty()
        || (video
            && rule.video.iter().any(|f| {
                in_range(r.pixels, f.min_pixels, f.max_pixels)
                    && f.hdr.is_none_or(|h| h == r.hdr)
                    // vodpack reads no colour primaries: PQ/HLG video is wide-gamut (BT.2020).
                    && f.wcg.is_none_or(|w| w == r.hdr)
                    && f.min_fps.is_none_or(|m| r.fps.is_some_and(|fps| fps > m as f64))
                    && f.max_fps.is_none_or(|m| r.fps.is_some_and(|fps| fps <= m as f64 + 1e-6))
            }));
    let audio_ok = rule.audio.is_empty()
        || (audio
            && rule
                .audio
                .iter()
                .any(|f| in_range(r.channels, f.min_channels, f.max_channels)));
    let label_ok = rule.labels.is_empty() || rule.labels.iter().any(|l| r.labels.contains(l));
    let bitrate_ok = rule.bitrate.is_empty()
        || rule
            .bitrate
            .iter()
            .any(|f| in_range(r.bitrate, f.min_bitrate, f.max_bitrate));
    video_ok && audio_ok && label_ok && bitrate_ok
}

fn describe(i: usize, rule: &UsageRule) -> String {
    let mut s = format!("rule #{} (kid {}", i + 1, uuid_string(&rule.kid));
    if let Some(t) = &rule.intended_track_type {
        s.push_str(&format!(", intendedTrackType {t}"));
    }
    s.push(')');
    s
}

/// The KID the rules select for `r`: exactly one key's rules must match it.
pub fn select_kid(rules: &[UsageRule], r: &RenditionFacts) -> Result<[u8; 16]> {
    if let Some((i, rule)) = rules.iter().enumerate().find(|(_, r)| r.key_periods > 0) {
        return Err(cpix_err(format!(
            "{}: KeyPeriodFilter (key rotation) is not supported; vodpack packages each rendition with one key",
            describe(i, rule)
        )));
    }
    let matching: Vec<(usize, &UsageRule)> = rules
        .iter()
        .enumerate()
        .filter(|(_, rule)| rule_matches(rule, r))
        .collect();
    let Some((_, first)) = matching.first() else {
        return Err(cpix_err(format!(
            "rendition '{}' ({}) is matched by no ContentKeyUsageRule (of {} rules)",
            r.id,
            r.class,
            rules.len()
        )));
    };
    if matching.iter().any(|(_, m)| m.kid != first.kid) {
        let names: Vec<String> = matching.iter().map(|(i, m)| describe(*i, m)).collect();
        return Err(cpix_err(format!(
            "rendition '{}' ({}) is matched by rules of different keys: {}",
            r.id,
            r.class,
            names.join(", ")
        )));
    }
    Ok(first.kid)
}

#[cfg(test)]
mod tests {
    use super::super::model::{AudioFilter, VideoFilter};
    use super::*;

    fn rule(kid: u8, t: Option<&str>) -> UsageRule {
        UsageRule {
            kid: [kid; 16],
            intended_track_type: t.map(str::to_string),
            ..Default::default()
        }
    }

    fn video(w: u32, h: u32) -> RenditionFacts {
        RenditionFacts {
            id: "v".into(),
            class: KeyClasses::default()
                .class_of(TrackKind::Video, Some(w), Some(h))
                .into(),
            kind: Some(TrackKind::Video),
            pixels: Some(w as u64 * h as u64),
            fps: Some(25.0),
            bitrate: Some(1_000_000),
            ..Default::default()
        }
    }

    #[test]
    fn classes_and_rules_select_one_key() {
        let c = KeyClasses::default();
        assert_eq!(c.class_of(TrackKind::Video, Some(768), Some(576)), "SD");
        assert_eq!(c.class_of(TrackKind::Video, Some(1024), Some(576)), "HD");
        assert_eq!(c.class_of(TrackKind::Video, Some(1920), Some(1080)), "HD");
        assert_eq!(c.class_of(TrackKind::Video, Some(3840), Some(2160)), "UHD1");
        assert_eq!(c.class_of(TrackKind::Video, Some(7680), Some(4320)), "UHD2");
        assert_eq!(c.class_of(TrackKind::Audio, None, None), "AUDIO");
        let rules = vec![
            rule(1, Some("SD")),
            rule(2, Some("HD")),
            UsageRule {
                video: vec![VideoFilter {
                    min_pixels: Some(2_073_601),
                    max_pixels: Some(8_847_360),
                    ..Default::default()
                }],
                ..rule(3, None)
            },
            UsageRule {
                audio: vec![AudioFilter {
                    min_channels: Some(1),
                    max_channels: Some(2),
                }],
                ..rule(4, None)
            },
        ];
        assert_eq!(select_kid(&rules, &video(640, 360)).unwrap(), [1; 16]);
        assert_eq!(select_kid(&rules, &video(1280, 720)).unwrap(), [2; 16]);
        assert_eq!(select_kid(&rules, &video(3840, 2160)).unwrap(), [3; 16]);
        let mut a = video(0, 0);
        a.kind = Some(TrackKind::Audio);
        a.class = "AUDIO".into();
        a.pixels = None;
        a.channels = Some(2);
        assert_eq!(select_kid(&rules, &a).unwrap(), [4; 16]);
        a.channels = Some(6);
        let e = select_kid(&rules, &a).unwrap_err().to_string();
        assert!(e.contains("'v' (AUDIO) is matched by no"), "{e}");
        // Two keys for one rendition: both rules are named.
        let two = vec![rule(1, Some("SD")), rule(2, Some("VIDEO"))];
        let e = select_kid(&two, &video(640, 360)).unwrap_err().to_string();
        assert!(e.contains("rule #1") && e.contains("rule #2"), "{e}");
        let periods = vec![UsageRule {
            key_periods: 1,
            ..rule(1, None)
        }];
        assert!(select_kid(&periods, &video(640, 360))
            .unwrap_err()
            .to_string()
            .contains("KeyPeriodFilter"));
    }
}
