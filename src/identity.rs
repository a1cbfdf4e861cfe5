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

/// How many case-folded bytes of an e-mail a join entry keeps inline, so that matching
/// compares flat arrays instead of chasing each e-mail's own allocation.
const INLINE: usize = 24;

/// One side's e-mail, prepared for the sort-merge join.
#[derive(Clone, Copy)]
struct JoinEntry {
    hash: u64,
    /// Length of the whole case-folded e-mail in bytes.
    folded_len: u32,
    index: u32,
    inline: [u8; INLINE],
}

impl JoinEntry {
    fn new(key: EmailKey<'_>, index: usize, hasher: &foldhash::fast::RandomState) -> Self {
        use std::hash::BuildHasher;
        let mut inline = [0u8; INLINE];
        let folded_len = if key.0.is_ascii() {
            for (dst, src) in inline.iter_mut().zip(key.0.bytes()) {
                *dst = src.to_ascii_lowercase();
            }
            key.0.len()
        } else {
            let mut len = 0;
            for c in key.folded() {
                let mut utf8 = [0u8; 4];
                for &b in c.encode_utf8(&mut utf8).as_bytes() {
                    if len < INLINE {
                        inline[len] = b;
                    }
                    len += 1;
                }
            }
            len
        };
        Self {
            hash: hasher.hash_one(key),
            folded_len: u32::try_from(folded_len).unwrap_or(u32::MAX),
            index: u32::try_from(index).unwrap_or(u32::MAX),
            inline,
        }
    }

    /// Equal e-mails (the full comparison only for e-mails longer than the inline part).
    fn same(&self, other: &Self, full: impl FnOnce() -> bool) -> bool {
        self.hash == other.hash
            && self.folded_len == other.folded_len
            && self.inline == other.inline
            && (self.folded_len as usize <= INLINE || full())
    }
}

/// Join `left` and `right` by e-mail (see the module docs), applying `overrides` first.
///
/// A sort-merge join over flat arrays of hashes and inline case-folded prefixes: it reads
/// each e-mail once, allocates a few vectors per call and nothing per agent, and touches
/// memory in order, which matters at 100,000 agents (a hash map of pointers into each
/// agent's own `String` spends most of its time in cache misses).
pub fn join<'a, L, R>(
    left: &'a [L],
    right: &'a [R],
    left_email: impl Fn(&'a L) -> Option<&'a str>,
    right_email: impl Fn(&'a R) -> Option<&'a str>,
    overrides: &'a IdentityOverrides,
) -> Joined {
    let hasher = foldhash::fast::RandomState::default();
    let left_key = |i: u32| left.get(i as usize).and_then(&left_email).and_then(EmailKey::new);
    let right_key = |i: u32| right.get(i as usize).and_then(&right_email).and_then(EmailKey::new);

    let mut out = Joined::default();
    let mut lefts = Vec::with_capacity(left.len());
    for (i, l) in left.iter().enumerate() {
        match left_email(l).and_then(EmailKey::new) {
            Some(key) => lefts.push(JoinEntry::new(key, i, &hasher)),
            None => out.only_left.push(i),
        }
    }
    let mut rights = Vec::with_capacity(right.len());
    for (i, r) in right.iter().enumerate() {
        if let Some(key) = right_email(r).and_then(EmailKey::new) {
            rights.push(JoinEntry::new(key, i, &hasher));
        }
    }
    lefts.sort_unstable_by_key(|e| e.hash);
    rights.sort_unstable_by_key(|e| e.hash);

    // E-mails that appear more than once on a side are never paired.
    let duplicates = |entries: &[JoinEntry], key: &dyn Fn(u32) -> Option<EmailKey<'a>>| {
        let mut dup = Vec::new();
        let mut start = 0;
        while start < entries.len() {
            let end = start + entries[start..].iter().take_while(|e| e.hash == entries[start].hash).count();
            for a in start..end {
                let (ea, eb) = (&entries[a], &entries[start..end]);
                if eb.iter().any(|b| b.index != ea.index && ea.same(b, || key(ea.index) == key(b.index))) {
                    dup.push(ea.index);
                }
            }
            start = end;
        }
        dup
    };
    let dup_left = duplicates(&lefts, &left_key);
    let dup_right = duplicates(&rights, &right_key);
    let dup_left_set: std::collections::HashSet<u32> = dup_left.iter().copied().collect();
    let dup_right_set: std::collections::HashSet<u32> = dup_right.iter().copied().collect();

    // Overrides: a left agent named in an override is matched by the override's right e-mail.
    let mut override_keys: Vec<(u32, EmailKey<'a>)> = Vec::new();
    if !overrides.pairs.is_empty() {
        for entry in lefts.iter_mut() {
            let Some(key) = left_key(entry.index) else { continue };
            let target = overrides
                .pairs
                .iter()
                .find(|(l, _)| EmailKey::new(l) == Some(key))
                .and_then(|(_, r)| EmailKey::new(r));
            if let Some(target) = target {
                *entry = JoinEntry::new(target, entry.index as usize, &hasher);
                override_keys.push((entry.index, target));
            }
        }
        lefts.sort_unstable_by_key(|e| e.hash);
    }
    let match_key =
        |i: u32| override_keys.iter().find(|(j, _)| *j == i).map(|(_, k)| *k).or_else(|| left_key(i));

    let mut right_used = vec![false; right.len()];
    let mut j = 0;
    for entry in &lefts {
        if dup_left_set.contains(&entry.index) {
            out.ambiguous_left.push(entry.index as usize);
            continue;
        }
        while j < rights.len() && rights[j].hash < entry.hash {
            j += 1;
        }
        let candidates = rights[j..].iter().take_while(|r| r.hash == entry.hash);
        let mut found = None;
        let mut ambiguous = false;
        for r in candidates {
            if entry.same(r, || match_key(entry.index) == right_key(r.index)) {
                if dup_right_set.contains(&r.index) {
                    ambiguous = true;
                } else {
                    found = Some(r.index);
                }
            }
        }
        match (found, ambiguous) {
            (_, true) => out.ambiguous_left.push(entry.index as usize),
            (Some(r), false) => {
                right_used[r as usize] = true;
                out.pairs.push((entry.index as usize, r as usize));
            }
            (None, false) => out.only_left.push(entry.index as usize),
        }
    }
    for (j, used) in right_used.iter().enumerate() {
        if *used {
            continue;
        }
        if dup_right_set.contains(&u32::try_from(j).unwrap_or(u32::MAX)) {
            out.ambiguous_right.push(j);
        } else {
            out.only_right.push(j);
        }
    }
    out.pairs.sort_unstable();
    out.only_left.sort_unstable();
    out.ambiguous_left.sort_unstable();
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
        fn join_partitions_both_sides(left in proptest::collection::vec("[aAbB]{1,2}@[xX]\\.io|[ab]{20,30}@example\\.com|Ünal@x\\.io", 0..12),
                                      right in proptest::collection::vec("[ab]{1,2}@[xX]\\.io|[aB]{20,30}@EXAMPLE\\.com|ünal@x\\.io", 0..12)) {
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
            // Against a naive reference: pair exactly the e-mails unique on both sides.
            let norm = |s: &str| s.trim().to_lowercase();
            let count = |side: &[&str], e: &str| side.iter().filter(|x| norm(x) == e).count();
            let mut expected = Vec::new();
            for (a, x) in l.iter().enumerate() {
                let e = norm(x);
                if count(&l, &e) == 1 && count(&r, &e) == 1 {
                    let b = r.iter().position(|y| norm(y) == e).unwrap();
                    expected.push((a, b));
                }
            }
            prop_assert_eq!(&out.pairs, &expected);
        }
    }
}
