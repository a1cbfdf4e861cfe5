//! Identity: joining agents across providers by e-mail.
//!
//! E-mails are compared trimmed and case-insensitively, without allocating (the join
//! hashes a case-folded view of the original string). Explicit overrides pair agents whose
//! e-mails differ. Agents that match nothing on the other side, and e-mails that appear
//! more than once on one side, are reported rather than guessed.
//!
//! ```
//! use deskbridge::identity::{join, IdentityOverrides};
//!
//! let left = [("1", Some(" Ana@Example.com")), ("2", Some("ben@example.com"))];
//! let right = [("z9", Some("ana@example.com")), ("z8", Some("carl@example.com"))];
//! let joined = join(&left, &right, |a| a.1, |b| b.1, &IdentityOverrides::default());
//! assert_eq!(joined.pairs, vec![(0, 0)]);
//! assert_eq!(joined.only_left, vec![1]);
//! assert_eq!(joined.only_right, vec![1]);
//! ```

use std::collections::HashMap;

type KeyMap<'a> = HashMap<EmailKey<'a>, usize, foldhash::fast::RandomState>;
use serde::{Deserialize, Serialize};
use std::hash::{Hash, Hasher};

/// Normalise an e-mail for display and storage: trimmed and lower-cased; `None` if empty.
pub fn normalize_email(email: &str) -> Option<String> {
    let t = email.trim();
    if t.is_empty() { None } else { Some(t.to_lowercase()) }
}

/// A borrowed e-mail that hashes and compares trimmed and case-insensitively.
#[derive(Debug, Clone, Copy)]
pub struct EmailKey<'a>(&'a str);

impl<'a> EmailKey<'a> {
    /// Wrap an e-mail; `None` when it is blank.
    pub fn new(email: &'a str) -> Option<Self> {
        let t = email.trim();
        if t.is_empty() { None } else { Some(Self(t)) }
    }

    fn folded(&self) -> impl Iterator<Item = char> + 'a {
        self.0.chars().flat_map(char::to_lowercase)
    }
}

impl PartialEq for EmailKey<'_> {
    fn eq(&self, other: &Self) -> bool {
        if self.0.is_ascii() && other.0.is_ascii() {
            return self.0.eq_ignore_ascii_case(other.0);
        }
        self.folded().eq(other.folded())
    }
}

impl Eq for EmailKey<'_> {}

impl Hash for EmailKey<'_> {
    /// Hashes the case-folded UTF-8 bytes in 64-byte chunks, the same for the ASCII fast
    /// path and the general path, so keys that compare equal hash equally.
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut buf = [0u8; 64];
        if self.0.is_ascii() {
            for chunk in self.0.as_bytes().chunks(buf.len()) {
                for (dst, src) in buf.iter_mut().zip(chunk) {
                    *dst = src.to_ascii_lowercase();
                }
                state.write(&buf[..chunk.len()]);
            }
        } else {
            let mut len = 0;
            for c in self.folded() {
                let mut utf8 = [0u8; 4];
                for &b in c.encode_utf8(&mut utf8).as_bytes() {
                    buf[len] = b;
                    len += 1;
                    if len == buf.len() {
                        state.write(&buf);
                        len = 0;
                    }
                }
            }
            if len > 0 {
                state.write(&buf[..len]);
            }
        }
        state.write_u8(0xff);
    }
}

/// Explicit pairings of agents whose e-mails differ between providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityOverrides {
    /// Left e-mail → right e-mail (compared like any e-mail: trimmed, case-insensitive).
    pub pairs: Vec<(String, String)>,
}

impl IdentityOverrides {
    /// Pair the agent with e-mail `left` on the left side with `right` on the right side.
    pub fn pair(mut self, left: impl Into<String>, right: impl Into<String>) -> Self {
        self.pairs.push((left.into(), right.into()));
        self
    }
}

/// The result of a join, as indices into the two input slices.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Joined {
    /// Matched pairs `(left index, right index)`, in left order.
    pub pairs: Vec<(usize, usize)>,
    /// Left agents with no match (including those without an e-mail).
    pub only_left: Vec<usize>,
    /// Right agents with no match.
    pub only_right: Vec<usize>,
    /// Left indices whose e-mail matches several right agents, or that share their e-mail
    /// with another left agent: never paired, always reported.
    pub ambiguous_left: Vec<usize>,
    /// Right indices that share their e-mail with another right agent.
    pub ambiguous_right: Vec<usize>,
}

/// Join `left` and `right` by e-mail (see the module docs), applying `overrides` first.
pub fn join<'a, L, R>(
    left: &'a [L],
    right: &'a [R],
    left_email: impl Fn(&'a L) -> Option<&'a str>,
    right_email: impl Fn(&'a R) -> Option<&'a str>,
    overrides: &'a IdentityOverrides,
) -> Joined {
    // Right index: e-mail → index, with usize::MAX marking a duplicate e-mail.
    const DUPLICATE: usize = usize::MAX;
    let mut by_email: KeyMap<'a> = KeyMap::with_capacity_and_hasher(right.len(), Default::default());
    for (i, r) in right.iter().enumerate() {
        if let Some(key) = right_email(r).and_then(EmailKey::new) {
            by_email.entry(key).and_modify(|v| *v = DUPLICATE).or_insert(i);
        }
    }
    let mut left_seen: KeyMap<'a> = KeyMap::with_capacity_and_hasher(left.len(), Default::default());
    for (i, l) in left.iter().enumerate() {
        if let Some(key) = left_email(l).and_then(EmailKey::new) {
            left_seen.entry(key).and_modify(|v| *v = DUPLICATE).or_insert(i);
        }
    }
    let override_for = |key: EmailKey<'a>| -> Option<EmailKey<'a>> {
        overrides
            .pairs
            .iter()
            .find(|(l, _)| EmailKey::new(l) == Some(key))
            .and_then(|(_, r)| EmailKey::new(r))
    };

    let mut out = Joined::default();
    let mut right_used = vec![false; right.len()];
    for (i, l) in left.iter().enumerate() {
        let Some(key) = left_email(l).and_then(EmailKey::new) else {
            out.only_left.push(i);
            continue;
        };
        if left_seen.get(&key) == Some(&DUPLICATE) {
            out.ambiguous_left.push(i);
            continue;
        }
        let target = if overrides.pairs.is_empty() { key } else { override_for(key).unwrap_or(key) };
        match by_email.get(&target) {
            Some(&DUPLICATE) => out.ambiguous_left.push(i),
            Some(&j) => {
                right_used[j] = true;
                out.pairs.push((i, j));
            }
            None => out.only_left.push(i),
        }
    }
    for (j, r) in right.iter().enumerate() {
        if right_used[j] {
            continue;
        }
        let duplicate =
            right_email(r).and_then(EmailKey::new).is_some_and(|k| by_email.get(&k) == Some(&DUPLICATE));
        if duplicate { out.ambiguous_right.push(j) } else { out.only_right.push(j) }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn j(left: &[&str], right: &[&str], ov: &IdentityOverrides) -> Joined {
        join(left, right, |s| Some(*s), |s| Some(*s), ov)
    }

    #[test]
    fn case_and_whitespace_do_not_matter() {
        let r = j(
            &["  Ana@Example.COM ", "Ünal@example.com"],
            &["ana@example.com", "ünal@EXAMPLE.com"],
            &Default::default(),
        );
        assert_eq!(r.pairs, vec![(0, 0), (1, 1)]);
    }

    #[test]
    fn unmatched_blank_and_ambiguous_are_reported() {
        let r = j(
            &["a@x.io", "", "b@x.io", "B@x.io", "d@x.io"],
            &["a@x.io", "c@x.io", "d@x.io", "D@X.io"],
            &Default::default(),
        );
        assert_eq!(r.pairs, vec![(0, 0)]);
        assert_eq!(r.only_left, vec![1]);
        assert_eq!(r.ambiguous_left, vec![2, 3, 4]);
        assert_eq!(r.only_right, vec![1]);
        assert_eq!(r.ambiguous_right, vec![2, 3]);
    }

    #[test]
    fn overrides_pair_different_emails() {
        let ov = IdentityOverrides::default().pair("ana.personal@gmail.com", "Ana@Example.com");
        let r = j(&["ana.personal@gmail.com"], &["ana@example.com"], &ov);
        assert_eq!(r.pairs, vec![(0, 0)]);
    }

    proptest! {
        /// Every index appears in exactly one of the outputs, and pairs join equal e-mails.
        #[test]
        fn join_partitions_both_sides(left in proptest::collection::vec("[ab]{1,2}@[xX]\\.io", 0..12),
                                      right in proptest::collection::vec("[ab]{1,2}@[xX]\\.io", 0..12)) {
            let l: Vec<&str> = left.iter().map(String::as_str).collect();
            let r: Vec<&str> = right.iter().map(String::as_str).collect();
            let out = j(&l, &r, &Default::default());
            let mut seen_l = vec![0; l.len()];
            let mut seen_r = vec![0; r.len()];
            for &(a, b) in &out.pairs {
                seen_l[a] += 1; seen_r[b] += 1;
                prop_assert_eq!(l[a].to_lowercase(), r[b].to_lowercase());
            }
            for &a in out.only_left.iter().chain(&out.ambiguous_left) { seen_l[a] += 1; }
            for &b in out.only_right.iter().chain(&out.ambiguous_right) { seen_r[b] += 1; }
            prop_assert!(seen_l.iter().all(|&c| c == 1));
            prop_assert!(seen_r.iter().all(|&c| c == 1));
        }
    }
}
