//! MAC addresses with Alibaba's OUI `00:16:3e`.

use rand::Rng;
use std::fmt;
use std::str::FromStr;

/// A MAC address, printed lower-case and colon-separated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Mac(pub [u8; 6]);

impl Mac {
    /// Alibaba Cloud's organisationally unique identifier.
    pub const OUI: [u8; 3] = [0x00, 0x16, 0x3e];

    /// A random address under [`Mac::OUI`]; uniqueness is the database's job.
    pub fn random() -> Self {
        let mut rng = rand::thread_rng();
        let [a, b, c] = Self::OUI;
        Mac([a, b, c, rng.gen(), rng.gen(), rng.gen()])
    }
}

impl fmt::Display for Mac {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl FromStr for Mac {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        let parts: Vec<&str> = s.split(':').collect();
        if parts.len() != 6 {
            return Err(());
        }
        let mut out = [0u8; 6];
        for (o, p) in out.iter_mut().zip(parts) {
            if p.len() != 2 {
                return Err(());
            }
            *o = u8::from_str_radix(p, 16).map_err(|_| ())?;
        }
        Ok(Mac(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_macs_carry_the_oui_and_round_trip() {
        let m = Mac::random();
        let s = m.to_string();
        assert!(s.starts_with("00:16:3e:"), "{s}");
        assert_eq!(s.parse::<Mac>(), Ok(m));
        assert!("00:16:3e:0f:5c".parse::<Mac>().is_err());
    }
}
