//! The pipeline's native readings reader: one CSV file's bytes into three columns.
//!
//! It reads exactly what `hotpath.pipeline.grammar` defines and the standard library's reader
//! (`csv.reader`, strict) accepts -- records split at LF, CRLF or a lone CR, fields at commas, a
//! field that starts with a double quote running to the next lone quote (`""` inside it is a
//! quote; line breaks and commas inside it are data), blank lines skipped, an optional UTF-8 BOM
//! -- and rejects the rest with the same reason codes (`grammar.Reason`), so the Python side words
//! every message once. The tests run both readers over the same files, valid and broken, and
//! require the same columns, bit for bit, and the same rejects.
//!
//! One pass, no allocation per row: fields are byte ranges of the input; the three wanted
//! fields are converted as soon as a record ends and written straight into the caller's
//! columns. A decimal with at most 19 digits and a power of ten within 10^±22 is converted by
//! one exact multiply or divide (Clinger's fast path, correctly rounded); anything else goes
//! to the standard library's correctly rounded parser, so every value is the float Python's
//! `float()` gives.

/// `grammar.Reason`: why a record or a file is rejected.
pub mod reason {
    /// The record is rejected because its file is (the file error says why).
    pub const AS_FILE: u8 = 0;
    pub const FIELD_COUNT: u8 = 1;
    pub const NOT_INTEGER: u8 = 2;
    pub const ID_RANGE: u8 = 3;
    pub const TIMESTAMP_RANGE: u8 = 4;
    pub const NOT_NUMBER: u8 = 5;
    pub const NOT_FINITE: u8 = 6;
    pub const NOT_UTF8: u8 = 7;
    pub const QUOTE: u8 = 8;
    pub const UNTERMINATED: u8 = 9;
    pub const EMPTY_FILE: u8 = 20;
    pub const HEADER_MISSING_COLUMNS: u8 = 21;
    pub const HEADER_DUPLICATE_COLUMN: u8 = 22;
    pub const BAD_HEADER_RECORD: u8 = 23;
}

/// The canonical quiet NaN: every missing reading, however it was spelled.
const MISSING: f64 = f64::from_bits(0x7FF8_0000_0000_0000);
const NAMES: [&[u8]; 3] = [b"device_id", b"timestamp", b"kwh"];
const IGNORED: u8 = u8::MAX;

/// One rejected record (or the file's fault): where it is and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The physical line the record starts on (1-based).
    pub line: u64,
    /// The record's bytes: `data[start..end]`, without its last line break.
    pub start: usize,
    pub end: usize,
    pub reason: u8,
    /// The column (0 device_id, 1 timestamp, 2 kwh) of a field error; for a malformed header,
    /// the reason it is malformed.
    pub column: u8,
    /// The offending field's text; the number of fields found; the header's missing names.
    pub detail: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    /// Rows written to the columns.
    pub rows: usize,
    /// Data records read, rejected ones included (blank lines are not records).
    pub rows_read: usize,
    /// Fields per record (the header's).
    pub width: usize,
    pub rejects: Vec<Reject>,
    pub file_error: Option<Reject>,
}

/// The columns cannot hold the file's rows (the caller sized them too small).
#[derive(Debug, PartialEq, Eq)]
pub struct ColumnsFull;

#[derive(Clone, Copy)]
struct Field {
    start: usize,
    end: usize,
    /// A quoted field holding `""`: its value needs unescaping.
    escaped: bool,
}

enum Record {
    Fields { end: usize, non_ascii: bool },
    Blank,
    Malformed { end: usize, reason: u8 },
    End,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
    /// The line `pos` is on.
    line: u64,
}

impl Cursor<'_> {
    /// Past the line break at `pos` (CRLF, LF or CR), if there is one.
    #[inline]
    fn line_break(&mut self) {
        match self.data.get(self.pos) {
            Some(b'\r') => {
                self.pos += 1;
                if self.data.get(self.pos) == Some(&b'\n') {
                    self.pos += 1;
                }
                self.line += 1;
            }
            Some(b'\n') => {
                self.pos += 1;
                self.line += 1;
            }
            _ => {}
        }
    }

    /// The next record's fields, as Python's csv module (strict) splits them.
    fn record(&mut self, fields: &mut Vec<Field>) -> Record {
        let data = self.data;
        let len = data.len();
        fields.clear();
        match data.get(self.pos) {
            None => return Record::End,
            Some(b'\n' | b'\r') => {
                self.line_break();
                return Record::Blank;
            }
            _ => {}
        }
        let mut high = 0u8; // the OR of every byte: bit 7 set means non-ASCII
        loop {
            if data.get(self.pos) == Some(&b'"') {
                self.pos += 1;
                let start = self.pos;
                let mut escaped = false;
                loop {
                    let Some(&b) = data.get(self.pos) else {
                        // the record runs to the end of the file, less its last line break
                        let end = if data.ends_with(b"\r\n") {
                            len - 2
                        } else if data.ends_with(b"\n") || data.ends_with(b"\r") {
                            len - 1
                        } else {
                            len
                        };
                        return Record::Malformed { end: end.max(start - 1), reason: reason::UNTERMINATED };
                    };
                    match b {
                        b'"' if data.get(self.pos + 1) == Some(&b'"') => {
                            escaped = true;
                            self.pos += 2;
                        }
                        b'"' => break,
                        b'\n' | b'\r' => self.line_break(),
                        _ => {
                            high |= b;
                            self.pos += 1;
                        }
                    }
                }
                fields.push(Field { start, end: self.pos, escaped });
                self.pos += 1; // the closing quote
                match data.get(self.pos) {
                    None => return Record::Fields { end: len, non_ascii: high >= 0x80 },
                    Some(b',') => self.pos += 1,
                    Some(b'\n' | b'\r') => {
                        let end = self.pos;
                        self.line_break();
                        return Record::Fields { end, non_ascii: high >= 0x80 };
                    }
                    Some(_) => {
                        // csv drops the rest of the physical line with the record
                        while !matches!(data.get(self.pos), None | Some(b'\n' | b'\r')) {
                            self.pos += 1;
                        }
                        let end = self.pos;
                        self.line_break();
                        return Record::Malformed { end, reason: reason::QUOTE };
                    }
                }
            } else {
                let start = self.pos;
                while let Some(&b) = data.get(self.pos) {
                    if b == b',' || b == b'\n' || b == b'\r' {
                        break;
                    }
                    high |= b;
                    self.pos += 1;
                }
                fields.push(Field { start, end: self.pos, escaped: false });
                match data.get(self.pos) {
                    Some(b',') => self.pos += 1,
                    _ => {
                        let end = self.pos;
                        self.line_break();
                        return Record::Fields { end, non_ascii: high >= 0x80 };
                    }
                }
            }
        }
    }
}

/// A field's value: its bytes, with `""` turned into `"` when it has any.
fn value<'a>(data: &'a [u8], field: Field, scratch: &'a mut Vec<u8>) -> &'a [u8] {
    let raw = &data[field.start..field.end];
    if !field.escaped {
        return raw;
    }
    scratch.clear();
    let mut i = 0;
    while i < raw.len() {
        scratch.push(raw[i]);
        i += if raw[i] == b'"' { 2 } else { 1 };
    }
    scratch
}

/// `[+-]?[0-9]+` as (negative, magnitude); the magnitude saturates at u64::MAX.
fn integer(text: &[u8]) -> Option<(bool, u64)> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return None;
    }
    let mut magnitude = 0u64;
    for &d in digits {
        if !d.is_ascii_digit() {
            return None;
        }
        magnitude = magnitude.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    Some((negative, magnitude))
}

fn device_id(text: &[u8]) -> Result<u32, u8> {
    match integer(text) {
        None => Err(reason::NOT_INTEGER),
        Some((_, 0)) => Ok(0), // "-0" is 0, as int() says
        Some((false, m)) if m <= u64::from(u32::MAX) => Ok(m as u32),
        Some(_) => Err(reason::ID_RANGE),
    }
}

fn timestamp(text: &[u8]) -> Result<i64, u8> {
    const LIMIT: u64 = 1 << 63;
    match integer(text) {
        None => Err(reason::NOT_INTEGER),
        Some((false, m)) if m < LIMIT => Ok(m as i64),
        Some((true, m)) if m <= LIMIT => Ok((m as i64).wrapping_neg()),
        Some(_) => Err(reason::TIMESTAMP_RANGE),
    }
}

const POW10: [f64; 23] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
    1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
];

/// A kWh field: empty or any spelling of NaN is a missing reading; infinities are rejected.
fn kwh(text: &[u8]) -> Result<f64, u8> {
    if text.is_empty() {
        return Ok(MISSING);
    }
    let (negative, body) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if body.eq_ignore_ascii_case(b"nan") {
        return Ok(MISSING);
    }
    if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
        return Err(reason::NOT_FINITE);
    }
    // digits [. digits] [e [+-] digits], at least one digit before the exponent
    let mut i = 0;
    let mut mantissa = 0u64;
    let mut digits = 0usize;
    let mut scale = 0i64; // digits after the point
    while i < body.len() && body[i].is_ascii_digit() {
        mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(body[i] - b'0'));
        digits += 1;
        i += 1;
    }
    if i < body.len() && body[i] == b'.' {
        i += 1;
        while i < body.len() && body[i].is_ascii_digit() {
            mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(body[i] - b'0'));
            digits += 1;
            scale += 1;
            i += 1;
        }
    }
    if digits == 0 {
        return Err(reason::NOT_NUMBER);
    }
    let mut exponent = 0i64;
    if i < body.len() && (body[i] == b'e' || body[i] == b'E') {
        i += 1;
        let negative_exponent = match body.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let first = i;
        while i < body.len() && body[i].is_ascii_digit() {
            exponent = (exponent * 10 + i64::from(body[i] - b'0')).min(1 << 40);
            i += 1;
        }
        if i == first {
            return Err(reason::NOT_NUMBER);
        }
        if negative_exponent {
            exponent = -exponent;
        }
    }
    if i != body.len() {
        return Err(reason::NOT_NUMBER);
    }
    let power = exponent - scale;
    let value = if digits <= 19 && mantissa <= (1 << 53) && (-22..=22).contains(&power) {
        // exact operands, one rounding: the correctly rounded result
        let m = mantissa as f64;
        if power < 0 { m / POW10[(-power) as usize] } else { m * POW10[power as usize] }
    } else {
        // SAFETY-free: the grammar above admitted only ASCII
        let ascii = std::str::from_utf8(body).map_err(|_| reason::NOT_NUMBER)?;
        ascii.parse::<f64>().map_err(|_| reason::NOT_NUMBER)?
    };
    if value.is_infinite() {
        return Err(reason::NOT_FINITE); // e.g. 1e999
    }
    Ok(if negative { -value } else { value })
}

/// The common record, read in one go: unquoted ASCII fields, plain digits, a plain decimal
/// kWh (or an empty one), exactly `roles.len()` fields. Returns the row and where the next
/// record starts, or None for anything else, which the general path then reads from the
/// record's start (it also words every error). Never accepts what the general path rejects.
#[inline]
fn fast_record(data: &[u8], mut pos: usize, roles: &[u8]) -> Option<(u32, i64, f64, usize)> {
    let (mut id, mut stamp, mut reading) = (None, None, None);
    let last = roles.len() - 1;
    for (i, &role) in roles.iter().enumerate() {
        match role {
            0 => {
                let (mut value, start) = (0u64, pos);
                while let Some(&b) = data.get(pos) {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    value = value * 10 + u64::from(b - b'0');
                    pos += 1;
                    if pos - start > 10 {
                        return None;
                    }
                }
                if pos == start || value > u64::from(u32::MAX) {
                    return None;
                }
                id = Some(value as u32);
            }
            1 => {
                let negative = data.get(pos) == Some(&b'-');
                pos += usize::from(negative);
                let (mut value, start) = (0i64, pos);
                while let Some(&b) = data.get(pos) {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    if pos - start == 18 {
                        // a 19th digit: 18 cannot overflow, longer ones go the long way
                        // (checked before the multiply, which would overflow)
                        return None;
                    }
                    value = value * 10 + i64::from(b - b'0');
                    pos += 1;
                }
                if pos == start {
                    return None;
                }
                stamp = Some(if negative { -value } else { value });
            }
            2 => {
                let negative = data.get(pos) == Some(&b'-');
                pos += usize::from(negative);
                let (mut mantissa, mut digits, mut scale) = (0u64, 0usize, 0usize);
                while let Some(&b) = data.get(pos) {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    mantissa = mantissa * 10 + u64::from(b - b'0');
                    digits += 1;
                    pos += 1;
                    if digits > 15 {
                        return None;
                    }
                }
                if data.get(pos) == Some(&b'.') {
                    pos += 1;
                    while let Some(&b) = data.get(pos) {
                        if !b.is_ascii_digit() {
                            break;
                        }
                        mantissa = mantissa * 10 + u64::from(b - b'0');
                        digits += 1;
                        scale += 1;
                        pos += 1;
                        if digits > 15 {
                            return None;
                        }
                    }
                    if digits == 0 {
                        return None; // "." alone
                    }
                } else if digits == 0 {
                    if negative {
                        return None;
                    }
                    reading = Some(MISSING); // an empty field (anything else bails below)
                }
                if reading.is_none() {
                    // <= 15 digits and 10^<=15: exact operands, one correctly rounded divide
                    let value = mantissa as f64 / POW10[scale];
                    reading = Some(if negative { -value } else { value });
                }
            }
            _ => {
                while let Some(&b) = data.get(pos) {
                    if b == b',' || b == b'\n' || b == b'\r' {
                        break;
                    }
                    if b == b'"' || b >= 0x80 {
                        return None;
                    }
                    pos += 1;
                }
            }
        }
        match data.get(pos) {
            Some(b',') if i < last => pos += 1,
            Some(b'\n') if i == last => return Some((id?, stamp?, reading?, pos + 1)),
            None if i == last => return Some((id?, stamp?, reading?, pos)),
            _ => return None, // CR, a quote, a stray byte, a field too many or too few
        }
    }
    None
}

/// Parses one file's `data` into the first rows of the three columns. The columns must have
/// room for every data record (`data.len() / 4 + 1` always suffices: a record has at least
/// two digits and two commas, or three bytes and a line break); else `ColumnsFull`, with
/// nothing written past their ends.
pub fn parse(
    data: &[u8],
    ids: &mut [u32],
    stamps: &mut [i64],
    values: &mut [f64],
) -> Result<Outcome, ColumnsFull> {
    let capacity = ids.len().min(stamps.len()).min(values.len());
    let mut out = Outcome::default();
    let start = if data.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let mut cursor = Cursor { data, pos: start, line: 1 };
    let mut fields = Vec::with_capacity(8);
    let mut scratch = Vec::new();
    // role of each field position: 0, 1, 2 for the three columns, IGNORED otherwise
    let mut roles: Vec<u8> = Vec::new();
    let mut header_seen = false;
    loop {
        if out.file_error.is_none() && !roles.is_empty() && out.rows < capacity {
            if let Some((id, stamp, reading, next)) = fast_record(data, cursor.pos, &roles) {
                ids[out.rows] = id;
                stamps[out.rows] = stamp;
                values[out.rows] = reading;
                out.rows += 1;
                out.rows_read += 1;
                cursor.pos = next;
                cursor.line += 1;
                continue;
            }
        }
        let first_line = cursor.line;
        let record_start = cursor.pos;
        let record = cursor.record(&mut fields);
        let reject = |reason: u8, end: usize, column: u8, detail: Vec<u8>| Reject {
            line: first_line,
            start: record_start,
            end,
            reason,
            column,
            detail,
        };
        let (end, non_ascii) = match record {
            Record::End => break,
            Record::Blank => continue,
            Record::Malformed { end, reason: why } => {
                out.rows_read += 1;
                if !header_seen {
                    header_seen = true;
                    let bad = reject(reason::BAD_HEADER_RECORD, end, why, Vec::new());
                    out.rejects.push(bad.clone());
                    out.file_error = Some(bad);
                } else if out.file_error.is_some() {
                    out.rejects.push(reject(reason::AS_FILE, end, 0, Vec::new()));
                } else {
                    out.rejects.push(reject(why, end, 0, Vec::new()));
                }
                continue;
            }
            Record::Fields { end, non_ascii } => (end, non_ascii),
        };
        out.rows_read += 1;
        let valid_utf8 = !non_ascii || std::str::from_utf8(&data[record_start..end]).is_ok();
        if !header_seen {
            header_seen = true;
            out.width = fields.len();
            let fault = if valid_utf8 {
                header_roles(data, &fields, &mut roles)
            } else {
                Err((reason::BAD_HEADER_RECORD, reason::NOT_UTF8, Vec::new()))
            };
            match fault {
                Ok(()) => out.rows_read -= 1, // the header is not a data record
                Err((why, column, detail)) => {
                    let bad = reject(why, end, column, detail);
                    out.rejects.push(bad.clone());
                    out.file_error = Some(bad);
                }
            }
            continue;
        }
        if out.file_error.is_some() {
            out.rejects.push(reject(reason::AS_FILE, end, 0, Vec::new()));
            continue;
        }
        if !valid_utf8 {
            out.rejects.push(reject(reason::NOT_UTF8, end, 0, Vec::new()));
            continue;
        }
        if fields.len() != out.width {
            let found = fields.len().to_string().into_bytes();
            out.rejects.push(reject(reason::FIELD_COUNT, end, 0, found));
            continue;
        }
        let mut wanted = [fields[0]; 3];
        for (field, &role) in fields.iter().zip(&roles) {
            if role != IGNORED {
                wanted[role as usize] = *field;
            }
        }
        let id = device_id(value(data, wanted[0], &mut scratch));
        let stamp = id.and_then(|_| timestamp(value(data, wanted[1], &mut scratch)));
        let reading = stamp.and_then(|_| kwh(value(data, wanted[2], &mut scratch)));
        match (id, stamp, reading) {
            (Ok(id), Ok(stamp), Ok(reading)) => {
                if out.rows == capacity {
                    return Err(ColumnsFull);
                }
                ids[out.rows] = id;
                stamps[out.rows] = stamp;
                values[out.rows] = reading;
                out.rows += 1;
            }
            _ => {
                let (column, why) = match (id, stamp, reading) {
                    (Err(why), _, _) => (0, why),
                    (_, Err(why), _) => (1, why),
                    (_, _, Err(why)) => (2, why),
                    _ => unreachable!(),
                };
                let text = value(data, wanted[column], &mut scratch).to_vec();
                out.rejects.push(reject(why, end, column as u8, text));
            }
        }
    }
    if !header_seen {
        out.file_error = Some(Reject {
            line: 1,
            start,
            end: start,
            reason: reason::EMPTY_FILE,
            column: 0,
            detail: Vec::new(),
        });
    }
    Ok(out)
}

/// Which field is which column; the header's fault as (reason, column, detail) otherwise.
fn header_roles(data: &[u8], fields: &[Field], roles: &mut Vec<u8>) -> Result<(), (u8, u8, Vec<u8>)> {
    let mut scratch = Vec::new();
    let mut seen = [false; 3];
    roles.clear();
    for &field in fields {
        let name = value(data, field, &mut scratch);
        let role = NAMES.iter().position(|&n| n == name);
        if let Some(role) = role {
            if seen[role] {
                return Err((reason::HEADER_DUPLICATE_COLUMN, 0, name.to_vec()));
            }
            seen[role] = true;
        }
        roles.push(role.map_or(IGNORED, |r| r as u8));
    }
    let missing: Vec<&[u8]> = NAMES.iter().zip(seen).filter(|(_, s)| !s).map(|(n, _)| *n).collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err((reason::HEADER_MISSING_COLUMNS, 0, missing.join(&b", "[..])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &[u8]) -> (Vec<u32>, Vec<i64>, Vec<f64>, Outcome) {
        let n = text.len() / 4 + 1;
        let (mut a, mut b, mut c) = (vec![0; n], vec![0; n], vec![0.0; n]);
        let out = parse(text, &mut a, &mut b, &mut c).unwrap();
        a.truncate(out.rows);
        b.truncate(out.rows);
        c.truncate(out.rows);
        (a, b, c, out)
    }

    #[test]
    fn reads_valid_records() {
        let (ids, stamps, values, out) =
            run(b"\xEF\xBB\xBFkwh,x,device_id,timestamp\r\n1.5,a,1,-100\r\n,\"b,\n\",2,200\n\n\"nan\",\"q\"\"\",3,300");
        assert_eq!(ids, [1, 2, 3]);
        assert_eq!(stamps, [-100, 200, 300]);
        assert_eq!(values[0], 1.5);
        assert!(values[1].is_nan() && values[2].is_nan());
        assert_eq!((out.rows_read, out.width, out.rejects.len()), (3, 4, 0));
    }

    #[test]
    fn rejects_with_reasons_and_lines() {
        let text = b"device_id,timestamp,kwh\n4294967296,1,2\n\"x\"y,1,2\n1,2\n1,2,inf\n1,2,\"3\n";
        let (_, _, _, out) = run(text);
        let got: Vec<(u64, u8)> = out.rejects.iter().map(|r| (r.line, r.reason)).collect();
        assert_eq!(
            got,
            [
                (2, reason::ID_RANGE),
                (3, reason::QUOTE),
                (4, reason::FIELD_COUNT),
                (5, reason::NOT_FINITE),
                (6, reason::UNTERMINATED)
            ]
        );
        assert_eq!(&text[out.rejects[1].start..out.rejects[1].end], b"\"x\"y,1,2");
    }

    #[test]
    fn numbers_match_the_standard_parser() {
        for text in ["0.1", "-0", "1e-7", "123456789012345678901234", "2.2250738585072014e-308", ".5", "5.", "+3E+2"] {
            assert_eq!(kwh(text.as_bytes()).unwrap().to_bits(), text.parse::<f64>().unwrap().to_bits(), "{text}");
        }
        for bad in ["", "-", "1e", ".", "1_0", " 1", "0x1"] {
            assert!(bad.is_empty() || kwh(bad.as_bytes()).is_err(), "{bad}");
        }
        assert_eq!(timestamp(b"-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(timestamp(b"9223372036854775808"), Err(reason::TIMESTAMP_RANGE));
        assert_eq!(device_id(b"-0"), Ok(0));
        assert_eq!(device_id(b"-1"), Err(reason::ID_RANGE));
    }

    #[test]
    fn never_writes_past_the_columns() {
        let (mut a, mut b, mut c) = (vec![0; 1], vec![0; 1], vec![0.0; 1]);
        let text = b"device_id,timestamp,kwh\n1,2,3\n4,5,6\n";
        assert_eq!(parse(text, &mut a, &mut b, &mut c).unwrap_err(), ColumnsFull);
    }
}
