//! Name and description rules shared by the resources: 1–128 and 1–256 characters, and no
//! `http://` or `https://` prefix (Alibaba's current VPC rules).

/// Checks a resource name; the error text says why.
pub fn name(value: &str) -> Result<(), String> {
    let n = value.chars().count();
    if !(1..=128).contains(&n) {
        return Err(format!(
            "The name must be 1 to 128 characters long, got {n}."
        ));
    }
    no_url_prefix(value)
}

/// Checks a description; the error text says why.
pub fn description(value: &str) -> Result<(), String> {
    let n = value.chars().count();
    if !(1..=256).contains(&n) {
        return Err(format!(
            "The description must be 1 to 256 characters long, got {n}."
        ));
    }
    no_url_prefix(value)
}

fn no_url_prefix(value: &str) -> Result<(), String> {
    let lower = value.to_ascii_lowercase();
    if lower.starts_with("http://") || lower.starts_with("https://") {
        Err("It cannot start with http:// or https://.".into())
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_and_descriptions() {
        assert!(super::name("prod-vpc").is_ok());
        assert!(super::name("生产").is_ok());
        assert!(super::name("").is_err());
        assert!(super::name(&"a".repeat(129)).is_err());
        assert!(super::name("https://x").is_err());
        assert!(super::description(&"d".repeat(256)).is_ok());
        assert!(super::description(&"d".repeat(257)).is_err());
    }
}
