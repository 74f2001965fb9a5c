//! Program specific information (ISO/IEC 13818-1 §2.4.4): the program association table (PAT)
//! and the program map table (PMT) of a one-program stream, each one section with its CRC.

/// CRC-32/MPEG-2 (ISO/IEC 13818-1 Annex A): polynomial 0x04C11DB7, initial value all ones, no
/// reflection, no final XOR.
pub fn crc32_mpeg2(data: &[u8]) -> u32 {
    let mut crc = 0xffff_ffffu32;
    for &b in data {
        crc ^= u32::from(b) << 24;
        for _ in 0..8 {
            crc = if crc & 0x8000_0000 != 0 {
                (crc << 1) ^ 0x04c1_1db7
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// A long-form section: `table_id`, section_syntax_indicator set, the 16-bit id
/// (transport_stream_id or program_number), version 0, current, section 0 of 0, `body`, CRC.
fn section(table_id: u8, id: u16, body: &[u8]) -> Vec<u8> {
    section_version(table_id, id, body, 0)
}

/// A section with `version` (0..=31).
fn section_version(table_id: u8, id: u16, body: &[u8], version: u8) -> Vec<u8> {
    // section_length counts from after itself to the end of the CRC: 5 header bytes + body + 4.
    let len = 5 + body.len() + 4;
    let mut s = Vec::with_capacity(3 + len);
    s.push(table_id);
    // section_syntax_indicator 1, '0', reserved '11', 12-bit length (under 1021 here).
    s.push(0xb0 | ((len >> 8) as u8 & 0x0f));
    s.push(len as u8);
    s.extend_from_slice(&id.to_be_bytes());
    s.push(0xc1 | ((version & 0x1f) << 1)); // reserved '11', version, current_next_indicator 1
    s.push(0); // section_number
    s.push(0); // last_section_number
    s.extend_from_slice(body);
    let crc = crc32_mpeg2(&s);
    s.extend_from_slice(&crc.to_be_bytes());
    s
}

/// The PAT (§2.4.4.3): program 1 on `pmt_pid`, transport_stream_id 1.
pub fn pat(pmt_pid: u16) -> Vec<u8> {
    let mut body = Vec::with_capacity(4);
    body.extend_from_slice(&1u16.to_be_bytes()); // program_number
    body.extend_from_slice(&(0xe000 | pmt_pid).to_be_bytes());
    section(0x00, 1, &body)
}

/// The PMT (§2.4.4.8) of program 1: one elementary stream of `stream_type` on `es_pid`, which
/// also carries the PCR, with its ES descriptors.
pub fn pmt(es_pid: u16, stream_type: u8, descriptors: &[u8]) -> Vec<u8> {
    pmt_version(es_pid, stream_type, descriptors, 0)
}

/// [`pmt`] with a version_number (a changed PMT needs a new one, §2.4.4.9).
pub fn pmt_version(es_pid: u16, stream_type: u8, descriptors: &[u8], version: u8) -> Vec<u8> {
    let mut body = Vec::with_capacity(9 + descriptors.len());
    body.extend_from_slice(&(0xe000 | es_pid).to_be_bytes()); // reserved, PCR_PID
    body.extend_from_slice(&0xf000u16.to_be_bytes()); // reserved, program_info_length 0
    body.push(stream_type);
    body.extend_from_slice(&(0xe000 | es_pid).to_be_bytes());
    body.extend_from_slice(&(0xf000 | descriptors.len() as u16).to_be_bytes());
    body.extend_from_slice(descriptors);
    section_version(0x02, 1, &body, version)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc_of_the_standard_check_string() {
        // The catalogue check value of CRC-32/MPEG-2 for "123456789".
        assert_eq!(crc32_mpeg2(b"123456789"), 0x0376_e6e7);
    }

    #[test]
    fn a_section_with_its_crc_checks_to_zero() {
        // Running the CRC over a section including its CRC gives 0 (Annex A).
        for s in [pat(0x1000), pmt(0x100, 0x1b, &[])] {
            assert_eq!(crc32_mpeg2(&s), 0);
        }
        assert_eq!(
            pat(0x1000),
            [
                0x00, 0xb0, 0x0d, 0x00, 0x01, 0xc1, 0x00, 0x00, 0x00, 0x01, 0xf0, 0x00, 0x2a, 0xb1,
                0x04, 0xb2
            ]
        );
    }
}
