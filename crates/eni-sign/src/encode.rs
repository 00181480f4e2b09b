//! Encoding helpers shared by both signature algorithms: Alibaba's RFC 3986 percent-encoding,
//! `application/x-www-form-urlencoded` decoding, the timestamp shape check and a constant-time
//! comparison.

use subtle::ConstantTimeEq;

/// Percent-encodes `s` the way Alibaba signs it (spec §2): UTF-8 bytes, unreserved
/// `A-Z a-z 0-9 - _ . ~` kept, everything else `%XY` with upper-case hex (space → `%20`,
/// `*` → `%2A`, `+` → `%2B`).
pub fn pct(s: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut out = String::with_capacity(s.len());
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
    out
}

/// Decodes a query string or form body with `application/x-www-form-urlencoded` rules
/// (`+` → space, blank values kept, a key without `=` gets an empty value, order preserved).
///
/// Invalid UTF-8 after decoding is replaced lossily; such a request can never match a client
/// signature anyway, so it fails verification instead of needing its own error path.
pub fn parse_form(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}

/// True when `s` has exactly the `yyyy-MM-ddTHH:mm:ssZ` shape (digits and separators only;
/// range checks are left to the caller's real time parsing).
pub fn is_iso8601_utc_seconds(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, &c)| match i {
            4 | 7 => c == b'-',
            10 => c == b'T',
            13 | 16 => c == b':',
            19 => c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// Constant-time equality so signature checks do not leak how many leading bytes matched.
pub(crate) fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pct_edge_cases() {
        assert_eq!(pct(" "), "%20");
        assert_eq!(pct("*"), "%2A");
        assert_eq!(pct("~"), "~");
        assert_eq!(pct("+"), "%2B");
        assert_eq!(pct("/"), "%2F");
        assert_eq!(pct("="), "%3D");
        assert_eq!(pct("&"), "%26");
        assert_eq!(pct("%"), "%25");
        assert_eq!(pct("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(pct(""), "");
        // Multi-byte UTF-8: every byte encoded, upper-case hex.
        assert_eq!(pct("é"), "%C3%A9");
        assert_eq!(pct("网卡"), "%E7%BD%91%E5%8D%A1");
        assert_eq!(pct("😀"), "%F0%9F%98%80");
        assert_eq!(pct("my eni*~"), "my%20eni%2A~");
    }

    #[test]
    fn parse_form_rules() {
        let p = parse_form(b"b=2&a=x+y&SignatureType=&flag&c=%2B%20%E7%BD%91&&b=3");
        let want: Vec<(String, String)> = [
            ("b", "2"),
            ("a", "x y"),
            ("SignatureType", ""),
            ("flag", ""),
            ("c", "+ 网"),
            ("b", "3"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(p, want);
        assert!(parse_form(b"").is_empty());
    }

    #[test]
    fn timestamp_shape() {
        assert!(is_iso8601_utc_seconds("2016-02-23T12:46:24Z"));
        assert!(!is_iso8601_utc_seconds("2016-02-23T12:46:24"));
        assert!(!is_iso8601_utc_seconds("2016-02-23T12:46:24.000Z"));
        assert!(!is_iso8601_utc_seconds("2016-02-23 12:46:24Z"));
        assert!(!is_iso8601_utc_seconds("2016-02-23T12:46:24+00:00"));
        assert!(!is_iso8601_utc_seconds("2016-2-23T12:46:24Z0"));
        assert!(!is_iso8601_utc_seconds("２016-02-23T12:46:24Z"));
        assert!(!is_iso8601_utc_seconds(""));
    }

    #[test]
    fn ct_eq_lengths() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"ab"));
    }
}
