//! Transport stream packets (ISO/IEC 13818-1 §2.4.3.2): 188 bytes, sync byte 0x47, a PID, a
//! 4-bit continuity counter per PID that counts every packet with a payload, and an optional
//! adaptation field (§2.4.3.4) for the PCR, the random access indicator and stuffing.

/// Bytes of a TS packet.
pub const PACKET: usize = 188;
const HEADER: usize = 4;
const SYNC: u8 = 0x47;

/// The adaptation field of a packet carrying the start of a PES packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct StartFlags {
    /// The program clock reference, in 90 kHz ticks (the base; the 27 MHz extension is 0).
    pub pcr: Option<u64>,
    /// random_access_indicator: a decoder may start here (a keyframe, or audio).
    pub random_access: bool,
}

/// Splits sections and PES packets into TS packets, keeping each PID's continuity counter
/// (across segments: a playlist is one continuous stream).
#[derive(Debug, Default)]
pub struct Packetizer {
    counters: Vec<(u16, u8)>,
}

impl Packetizer {
    /// The continuity counter of the last packet with payload on `pid` (for a packet without
    /// payload, which repeats it).
    pub fn counter(&self, pid: u16) -> u8 {
        self.counters
            .iter()
            .find(|(p, _)| *p == pid)
            .map_or(0, |(_, c)| *c)
    }

    fn next_counter(&mut self, pid: u16) -> u8 {
        match self.counters.iter_mut().find(|(p, _)| *p == pid) {
            Some((_, c)) => {
                *c = (*c + 1) & 0x0f;
                *c
            }
            None => {
                self.counters.push((pid, 0));
                0
            }
        }
    }

    /// Appends a PSI section (after its pointer_field) on `pid`, in one or more packets padded
    /// with 0xFF (§2.4.4.2).
    pub fn section(&mut self, out: &mut Vec<u8>, pid: u16, section: &[u8]) {
        let mut data = Vec::with_capacity(section.len() + 1);
        data.push(0); // pointer_field: the section starts right after it
        data.extend_from_slice(section);
        let mut first = true;
        for chunk in data.chunks(PACKET - HEADER) {
            let start = out.len();
            self.header(out, pid, first, false);
            out.extend_from_slice(chunk);
            out.resize(start + PACKET, 0xff);
            first = false;
        }
    }

    /// Appends a PES packet (`head` then `payload`) on `pid`; the first TS packet carries
    /// `flags` in its adaptation field, the last is filled with adaptation field stuffing.
    pub fn pes(
        &mut self,
        out: &mut Vec<u8>,
        pid: u16,
        head: &[u8],
        payload: &[u8],
        flags: StartFlags,
    ) {
        let total = head.len() + payload.len();
        let mut done = 0;
        let mut first = true;
        while first || done < total {
            // The adaptation field's bytes after its length byte: the first packet's flags and
            // PCR, then stuffing in the last packet (§2.4.3.5).
            let mut af: Option<Vec<u8>> = None;
            if first && (flags.pcr.is_some() || flags.random_access) {
                let mut a = vec![
                    if flags.random_access { 0x40 } else { 0 }
                        | if flags.pcr.is_some() { 0x10 } else { 0 },
                ];
                if let Some(pcr) = flags.pcr {
                    let base = pcr & ((1 << 33) - 1);
                    a.extend_from_slice(&[
                        (base >> 25) as u8,
                        (base >> 17) as u8,
                        (base >> 9) as u8,
                        (base >> 1) as u8,
                        // the base's low bit, reserved '111111', the extension's high bit 0
                        ((base & 1) << 7) as u8 | 0x7e,
                        0,
                    ]);
                }
                af = Some(a);
            }
            let room = PACKET - HEADER - af.as_ref().map_or(0, |a| 1 + a.len());
            let take = (total - done).min(room);
            let stuff = room - take;
            if stuff > 0 {
                match af.as_mut() {
                    Some(a) => a.extend(std::iter::repeat_n(0xff, stuff)),
                    // The length byte alone (length 0) is one byte of stuffing.
                    None if stuff == 1 => af = Some(Vec::new()),
                    None => {
                        let mut a = vec![0u8]; // no flags
                        a.extend(std::iter::repeat_n(0xff, stuff - 2));
                        af = Some(a);
                    }
                }
            }
            self.header(out, pid, first, af.is_some());
            if let Some(a) = af {
                out.push(a.len() as u8);
                out.extend_from_slice(&a);
            }
            copy_range(out, head, payload, done, take);
            done += take;
            first = false;
        }
    }

    /// The 4-byte header; adaptation_field_control '11' when `with_af`, else '01'.
    fn header(&mut self, out: &mut Vec<u8>, pid: u16, unit_start: bool, with_af: bool) {
        let cc = self.next_counter(pid);
        out.push(SYNC);
        out.push(if unit_start { 0x40 } else { 0 } | ((pid >> 8) as u8 & 0x1f));
        out.push(pid as u8);
        out.push(if with_af { 0x30 } else { 0x10 } | cc);
    }
}

/// Appends bytes `from..from + len` of `head` followed by `payload`.
fn copy_range(out: &mut Vec<u8>, head: &[u8], payload: &[u8], from: usize, len: usize) {
    let end = from + len;
    if from < head.len() {
        out.extend_from_slice(&head[from..end.min(head.len())]);
    }
    if end > head.len() {
        out.extend_from_slice(&payload[from.max(head.len()) - head.len()..end - head.len()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packets(out: &[u8]) -> Vec<&[u8]> {
        assert_eq!(out.len() % PACKET, 0);
        out.chunks(PACKET).collect()
    }

    /// The payload bytes of a packet (after the header and adaptation field).
    fn payload(p: &[u8]) -> &[u8] {
        match (p[3] >> 4) & 3 {
            1 => &p[4..],
            3 => &p[5 + p[4] as usize..],
            _ => &[],
        }
    }

    #[test]
    fn every_pes_length_fills_whole_packets_with_the_bytes_in_order() {
        for len in [
            0usize, 1, 2, 3, 100, 169, 170, 171, 176, 177, 178, 182, 183, 184, 185, 367, 368, 369,
            1000,
        ] {
            let mut p = Packetizer::default();
            let mut out = Vec::new();
            let head = [1u8, 2, 3, 4, 5, 6, 7, 8, 9];
            let body: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            for pcr in [None, Some(123_456_789u64)] {
                out.clear();
                p.pes(
                    &mut out,
                    0x100,
                    &head,
                    &body,
                    StartFlags {
                        pcr,
                        random_access: pcr.is_some(),
                    },
                );
                let mut got = Vec::new();
                for (i, pk) in packets(&out).iter().enumerate() {
                    assert_eq!(pk[0], 0x47);
                    assert_eq!(pk[1] & 0x40 != 0, i == 0, "unit start only on the first");
                    got.extend_from_slice(payload(pk));
                }
                let mut want = head.to_vec();
                want.extend_from_slice(&body);
                assert_eq!(got, want, "len {len} pcr {pcr:?}");
            }
        }
    }

    #[test]
    fn continuity_counters_count_per_pid_and_wrap() {
        let mut p = Packetizer::default();
        let mut out = Vec::new();
        for _ in 0..20 {
            p.pes(&mut out, 0x100, &[0; 9], &[0; 10], StartFlags::default());
            p.section(&mut out, 0, &super::super::psi::pat(0x1000));
        }
        let ccs: Vec<(u16, u8)> = packets(&out)
            .iter()
            .map(|pk| {
                (
                    (u16::from(pk[1] & 0x1f) << 8) | u16::from(pk[2]),
                    pk[3] & 0x0f,
                )
            })
            .collect();
        for pid in [0u16, 0x100] {
            let seq: Vec<u8> = ccs.iter().filter(|c| c.0 == pid).map(|c| c.1).collect();
            let want: Vec<u8> = (0..20).map(|i| (i % 16) as u8).collect();
            assert_eq!(seq, want);
        }
    }

    #[test]
    fn the_pcr_is_written_as_33_bit_base() {
        let mut p = Packetizer::default();
        let mut out = Vec::new();
        let pcr = (1u64 << 32) + 12345;
        p.pes(
            &mut out,
            0x100,
            &[0; 9],
            &[0; 500],
            StartFlags {
                pcr: Some(pcr),
                random_access: true,
            },
        );
        assert_eq!(out[5], 0x50, "random access + PCR flags");
        let b = &out[6..12];
        let base = (u64::from(b[0]) << 25)
            | (u64::from(b[1]) << 17)
            | (u64::from(b[2]) << 9)
            | (u64::from(b[3]) << 1)
            | u64::from(b[4] >> 7);
        assert_eq!(base, pcr);
    }
}
