//! One rendition's transport stream: the clock mapping from the track's timescale to 90 kHz, and
//! the muxer that turns samples into packets (PAT and PMT where a reader may start, one PES
//! packet per sample, a PCR with each).
use super::encrypt::SampleCipher;
use super::es::EsFormat;
use super::packet::{Packetizer, StartFlags, PACKET};
use super::{pes, psi, CLOCK, ES_PID, PMT_PID, TIMESTAMP_OFFSET};

/// The PCR runs this far ahead of the decode time of the PES packet it starts: the time the
/// decoder buffer holds its bytes (ISO/IEC 13818-1 §2.4.2.3 T-STD). 100 ms.
const PCR_LEAD: u64 = CLOCK / 10;
/// The longest gap between two PCRs (§2.7.2 allows 100 ms).
const PCR_INTERVAL: u64 = CLOCK / 10;

/// Track ticks to the TS clock: presentation time (the CMAF set's, after the edit list) to
/// 90 kHz, plus [`TIMESTAMP_OFFSET`]; decode time minus a constant decode delay, so a DTS is
/// never after its PTS when the track has negative composition offsets.
#[derive(Debug, Clone, Copy)]
pub struct TsClock {
    timescale: i128,
    /// Ticks subtracted from every time: the audio edit list's start (video has its edit list
    /// folded into the composition offsets already).
    shift: i64,
    /// 90 kHz ticks every DTS is moved earlier.
    delay: u64,
}

impl TsClock {
    /// The clock of a track; `times` gives every sample's (decode time, composition time) in
    /// track ticks, from which the decode delay is found.
    pub fn new(timescale: u32, shift: i64, times: impl Iterator<Item = (i64, i64)>) -> TsClock {
        let mut clock = TsClock {
            timescale: i128::from(timescale.max(1)),
            shift,
            delay: 0,
        };
        let delay = times
            .map(|(dts, cts)| clock.ticks(dts) - clock.ticks(cts))
            .max()
            .unwrap_or(0);
        clock.delay = u64::try_from(delay).unwrap_or(0);
        clock
    }

    /// Track ticks (minus the shift) on the 90 kHz clock, rounded to nearest.
    fn ticks(&self, t: i64) -> i128 {
        let num = (i128::from(t) - i128::from(self.shift)) * i128::from(CLOCK);
        (2 * num + self.timescale).div_euclid(2 * self.timescale)
    }

    /// The constant decode delay (90 kHz ticks).
    pub fn decode_delay(&self) -> u64 {
        self.delay
    }

    /// The PTS of composition time `cts`, or `None` when it falls before the TS clock's zero
    /// or past its 33 bits.
    pub fn pts(&self, cts: i64) -> Option<u64> {
        u64::try_from(self.ticks(cts) + i128::from(TIMESTAMP_OFFSET))
            .ok()
            .filter(|&t| t < 1 << 33)
    }

    /// The DTS of decode time `dts` (see [`TsClock::pts`]).
    pub fn dts(&self, dts: i64) -> Option<u64> {
        u64::try_from(self.ticks(dts) + i128::from(TIMESTAMP_OFFSET) - i128::from(self.delay))
            .ok()
            .filter(|&t| t < 1 << 33)
    }
}

/// Writes one rendition's samples as transport stream packets.
#[derive(Debug)]
pub struct TsMuxer {
    format: EsFormat,
    packets: Packetizer,
    pat: Vec<u8>,
    pmt: Vec<u8>,
    /// SAMPLE-AES: the cipher, and the PMT of the encrypted stream (version 1 when the clear
    /// lead's segments carry the clear one, so a reader sees the stream type change).
    sample_aes: Option<(SampleCipher, Vec<u8>)>,
    /// True while the current segment is SAMPLE-AES encrypted.
    encrypting: bool,
    access_unit: Vec<u8>,
    last_pcr: Option<u64>,
}

impl TsMuxer {
    /// A muxer for one elementary stream of `format`.
    pub fn new(format: EsFormat) -> TsMuxer {
        TsMuxer {
            pat: psi::pat(PMT_PID),
            pmt: psi::pmt(ES_PID, format.stream_type(), &format.descriptors()),
            format,
            packets: Packetizer::default(),
            sample_aes: None,
            encrypting: false,
            access_unit: Vec::new(),
            last_pcr: None,
        }
    }

    /// A muxer whose segments can be SAMPLE-AES encrypted with `key` (see
    /// [`TsMuxer::start_segment`]).
    pub fn with_sample_aes(format: EsFormat, key: &[u8; 16]) -> TsMuxer {
        let mut m = TsMuxer::new(format);
        let pmt = psi::pmt_version(
            ES_PID,
            m.format.encrypted_stream_type(),
            &m.format.encrypted_descriptors(),
            1,
        );
        m.sample_aes = Some((SampleCipher::new(key), pmt));
        m
    }

    /// What the samples become.
    pub fn format(&self) -> &EsFormat {
        &self.format
    }

    /// Starts a segment: SAMPLE-AES encrypts it from `iv` when given (a clear lead's segments
    /// get `None`); then the PAT and PMT are written.
    pub fn start_segment(&mut self, out: &mut Vec<u8>, iv: Option<[u8; 16]>) {
        self.set_segment_iv(iv);
        self.tables(out);
    }

    fn set_segment_iv(&mut self, iv: Option<[u8; 16]>) {
        self.encrypting = false;
        if let (Some((cipher, _)), Some(iv)) = (self.sample_aes.as_mut(), iv) {
            cipher.iv = iv;
            self.encrypting = true;
        }
    }

    /// Starts a packed audio segment (crate::ts::packed) whose first frame has `pts`: its ID3
    /// tag, with the audio setup information when SAMPLE-AES encrypts it from `iv`; no tables.
    pub fn start_packed_segment(&mut self, out: &mut Vec<u8>, iv: Option<[u8; 16]>, pts: u64) {
        self.set_segment_iv(iv);
        match self.format.audio_setup_information() {
            Some(setup) if self.encrypting => super::packed::encrypted_tag(out, pts, &setup),
            _ => super::packed::timestamp_tag(out, pts),
        }
    }

    /// Appends one sample of a packed audio segment: the frame as the elementary stream has it
    /// (ADTS header, syncframe, MP3 frame), SAMPLE-AES encrypted when the segment is.
    pub fn packed_sample(&self, out: &mut Vec<u8>, bytes: &[u8], sync: bool) -> Result<(), String> {
        let cipher = match &self.sample_aes {
            Some((c, _)) if self.encrypting => Some(c),
            _ => None,
        };
        self.format.access_unit(bytes, sync, cipher, out)
    }

    /// Appends the PAT and the PMT: at the start of every segment and before every keyframe,
    /// so a segment or an I-frame byte range can be read alone.
    pub fn tables(&mut self, out: &mut Vec<u8>) {
        self.packets.section(out, 0, &self.pat);
        match &self.sample_aes {
            Some((_, pmt)) if self.encrypting => self.packets.section(out, PMT_PID, pmt),
            _ => self.packets.section(out, PMT_PID, &self.pmt),
        }
    }

    /// Appends one sample as a PES packet with `pts` and `dts` (90 kHz); `sync` for a keyframe.
    /// The PCR (this stream carries the program's clock) is written with every PES packet, and
    /// between them when they are more than 100 ms apart.
    pub fn sample(
        &mut self,
        out: &mut Vec<u8>,
        bytes: &[u8],
        sync: bool,
        pts: u64,
        dts: u64,
    ) -> Result<(), String> {
        let mut au = std::mem::take(&mut self.access_unit);
        au.clear();
        let cipher = match &self.sample_aes {
            Some((c, _)) if self.encrypting => Some(c),
            _ => None,
        };
        let converted = self.format.access_unit(bytes, sync, cipher, &mut au);
        if let Err(e) = converted {
            self.access_unit = au;
            return Err(e);
        }
        let pcr = dts.saturating_sub(PCR_LEAD);
        if let Some(last) = self.last_pcr {
            let mut t = last + PCR_INTERVAL;
            while t < pcr {
                self.pcr_only(out, t);
                t += PCR_INTERVAL;
            }
        }
        self.last_pcr = Some(pcr);
        let len = if self.format.is_video() || au.len() < 0xffff - 32 {
            au.len()
        } else {
            return Err(format!(
                "an audio frame of {} bytes does not fit one PES packet",
                au.len()
            ));
        };
        let head = pes::header(self.format.stream_id(), pts, dts, len);
        let flags = StartFlags {
            pcr: Some(pcr),
            random_access: sync || !self.format.is_video(),
        };
        self.packets.pes(out, ES_PID, &head, &au, flags);
        self.access_unit = au;
        Ok(())
    }

    /// A packet with an adaptation field only, carrying a PCR (the continuity counter does not
    /// count packets without payload, §2.4.3.3).
    fn pcr_only(&mut self, out: &mut Vec<u8>, pcr: u64) {
        let start = out.len();
        let cc = self.packets.counter(ES_PID);
        out.extend_from_slice(&[0x47, (ES_PID >> 8) as u8 & 0x1f, ES_PID as u8, 0x20 | cc]);
        out.push(183);
        out.push(0x10);
        let base = pcr & ((1 << 33) - 1);
        out.extend_from_slice(&[
            (base >> 25) as u8,
            (base >> 17) as u8,
            (base >> 9) as u8,
            (base >> 1) as u8,
            ((base & 1) << 7) as u8 | 0x7e,
            0,
        ]);
        out.resize(start + PACKET, 0xff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_composition_offsets_get_one_constant_decode_delay() {
        // 25 fps at timescale 12800 (512 ticks a frame); B-frames presented up to 2 frames
        // before their decode time.
        let times = [
            (0i64, -1024i64),
            (512, 1536),
            (1024, 0),
            (1536, 512),
            (2048, 3584),
        ];
        let c = TsClock::new(12800, 0, times.iter().copied());
        assert_eq!(c.decode_delay(), 7200); // 2 frames of 3600
        for (dts, cts) in times {
            assert!(c.dts(dts).unwrap() <= c.pts(cts).unwrap());
        }
        assert_eq!(c.pts(0), Some(TIMESTAMP_OFFSET));
        // Audio: the edit list's start (1024 priming samples at 48 kHz) is presentation zero.
        let a = TsClock::new(48000, 1024, [(0, 0)].into_iter());
        assert_eq!(a.pts(1024), Some(TIMESTAMP_OFFSET));
        assert_eq!(a.pts(0), Some(TIMESTAMP_OFFSET - 1920));
    }
}
