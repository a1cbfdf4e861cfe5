//! Identity: joining agents across providers by e-mail.
//!
//! E-mails are compared trimmed, with **ASCII letters case-folded and nothing else**:
//! `Ana@Example.COM` and `ana@example.com` are one address, but every non-ASCII character
//! must match exactly after Unicode normalisation (NFC), so `Ünal@x.io` and `ünal@x.io` are
//! two addresses, and so are the look-alikes `\u{212A}ate@corp.com` (KELVIN SIGN) and
//! `kate@corp.com`, which Unicode lower-casing would join. ASCII letters are folded
//! *before* normalising, so NFC only merges two encodings of the same text (`ü` as `U+00FC`
//! or as `u` + `U+0308`), and a character that NFC maps to an ASCII capital (the Kelvin
//! sign becomes `K`) stays distinct from every folded ASCII spelling. The domain part of an
//! address is case-insensitive by definition and the local part is case-sensitive in
//! principle; folding ASCII case on both is what every helpdesk does, while folding
//! Unicode case would let an attacker who controls a look-alike address be paired with
//! (and take over the status of) another agent.
//!
//! The comparison allocates nothing for ASCII e-mails (the join hashes a case-folded view
//! of the original string). Explicit overrides pair agents whose e-mails differ. Agents
//! that match nothing on the other side, and e-mails that appear more than once on one
//! side, are reported rather than guessed.
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
use unicode_normalization::UnicodeNormalization;

/// Normalise an e-mail for display and storage by the [module's rule](self): trimmed, ASCII
/// letters lower-cased, then Unicode NFC; `None` if empty.
///
/// ```
/// use deskbridge::identity::normalize_email;
/// assert_eq!(normalize_email(" Ana@Example.COM ").as_deref(), Some("ana@example.com"));
/// // Non-ASCII letters keep their case; only the encoding is normalised.
/// assert_eq!(normalize_email("U\u{308}NAL@X.io").as_deref(), Some("\u{fc}nal@x.io"));
/// assert_ne!(normalize_email("\u{dc}nal@x.io"), normalize_email("\u{fc}nal@x.io"));
/// assert_ne!(normalize_email("\u{212A}ate@corp.com"), normalize_email("kate@corp.com"));
/// ```
pub fn normalize_email(email: &str) -> Option<String> {
    let t = email.trim();
    if t.is_empty() { None } else { Some(fold_email(t)) }
}

/// The [module's rule](self) without trimming: ASCII letters lower-cased, then NFC. ASCII
/// input takes a fast path (it is its own NFC).
pub(crate) fn fold_email(email: &str) -> String {
    if email.is_ascii() {
        email.to_ascii_lowercase()
    } else {
        email.chars().map(|c| c.to_ascii_lowercase()).nfc().collect()
    }
}

/// A borrowed e-mail that hashes and compares by the [module's rule](self): trimmed, ASCII
/// case-insensitive, non-ASCII exact after NFC.
#[derive(Debug, Clone, Copy)]
pub struct EmailKey<'a>(&'a str);

impl<'a> EmailKey<'a> {
    /// Wrap an e-mail; `None` when it is blank.
    pub fn new(email: &'a str) -> Option<Self> {
        // Fast path: nothing to trim when both ends are visible ASCII.
        if let (Some(&first), Some(&last)) = (email.as_bytes().first(), email.as_bytes().last())
            && first.is_ascii_graphic()
            && last.is_ascii_graphic()
        {
            return Some(Self(email));
        }
        let t = email.trim();
        if t.is_empty() { None } else { Some(Self(t)) }
    }

    fn folded(&self) -> impl Iterator<Item = char> + 'a {
        self.0.chars().map(|c| c.to_ascii_lowercase()).nfc()
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
    /// Hashes the case-folded UTF-8 bytes in 64-byte chunks, so keys that compare
    /// equal hash equally.
    fn hash<H: Hasher>(&self, state: &mut H) {
        write_folded(*self, state);
        state.write_u8(0xff);
    }
}

/// Feed `key`'s case-folded UTF-8 bytes to `state` in 64-byte chunks, the same chunks for
/// the ASCII fast path and the general path.
fn write_folded<H: Hasher>(key: EmailKey<'_>, state: &mut H) {
    let mut buf = [0u8; 64];
    if key.0.is_ascii() {
        for chunk in key.0.as_bytes().chunks(buf.len()) {
            for (dst, src) in buf.iter_mut().zip(chunk) {
                *dst = src.to_ascii_lowercase();
            }
            state.write(&buf[..chunk.len()]);
        }
    } else {
        let mut len = 0;
        for c in key.folded() {
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
}

/// Explicit pairings of agents whose e-mails differ between providers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityOverrides {
    /// Left e-mail → right e-mail (compared like any e-mail: see the [module's rule](self)).
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

/// The hash of `key`'s case-folded bytes (see [`write_folded`]).
fn folded_hash(key: EmailKey<'_>, hasher: &impl std::hash::BuildHasher) -> u64 {
    let mut state = hasher.build_hasher();
    write_folded(key, &mut state);
    state.finish()
}

/// An open-addressing hash table (linear probing, at most half full) from e-mail hashes
/// to right-side indices. A slot holds the low 32 bits of the hash as a tag and the index
/// plus one (0 marks an empty slot).
struct Slots {
    slots: Vec<(u32, u32)>,
    shift: u32,
    mask: usize,
}

impl Slots {
    fn with_capacity(n: usize) -> Self {
        let bits = (n.max(8) * 2).next_power_of_two().trailing_zeros();
        Self { slots: vec![(0, 0); 1 << bits], shift: 64 - bits, mask: (1 << bits) - 1 }
    }

    /// The first index whose tag matches `hash` and that `is_same` accepts, or the empty
    /// slot where such an index would go.
    fn find(&self, hash: u64, mut is_same: impl FnMut(usize) -> bool) -> Result<usize, usize> {
        let tag = hash as u32;
        let mut pos = (hash >> self.shift) as usize;
        loop {
            let (slot_tag, slot_index) = self.slots[pos];
            if slot_index == 0 {
                return Err(pos);
            }
            let index = (slot_index - 1) as usize;
            if slot_tag == tag && is_same(index) {
                return Ok(index);
            }
            pos = (pos + 1) & self.mask;
        }
    }

    /// The index in `hash`'s home slot if its tag matches (the likely match).
    fn home_candidate(&self, hash: u64) -> Option<usize> {
        let (slot_tag, slot_index) = self.slots[(hash >> self.shift) as usize];
        (slot_index != 0 && slot_tag == hash as u32).then(|| (slot_index - 1) as usize)
    }

    fn insert_at(&mut self, pos: usize, hash: u64, index: u32) {
        self.slots[pos] = (hash as u32, index + 1);
    }
}

/// `left[i]`'s outcome during the join (a right index, or one of these markers).
const NO_EMAIL: u32 = u32::MAX;
const NO_MATCH: u32 = u32::MAX - 1;
const DUPLICATE: u32 = u32::MAX - 2;
/// `owner[j]` for a right agent nobody matched, or that several left agents matched.
const NOBODY: u32 = u32::MAX;
const SEVERAL: u32 = u32::MAX - 1;

/// Join `left` and `right` by e-mail (see the module docs), applying `overrides` first.
///
/// A hash join: the right side goes into a flat open-addressing table of hash tags and
/// indices (finding right-side duplicates on the way), and the left side is probed in
/// order, so the pairs come out in left order without sorting. It hashes each e-mail once,
/// compares two e-mails in full only when their hashes agree on 32 bits, allocates a few
/// vectors per call (about 30 bytes per agent) and nothing per agent.
///
/// Left agents are compared by their *match key*: the override's right e-mail for agents
/// named in `overrides`, their own e-mail otherwise. Two left agents with the same match
/// key are ambiguous and never paired.
///
/// Each side may hold up to `u32::MAX - 3` agents.
pub fn join<'a, L, R>(
    left: &'a [L],
    right: &'a [R],
    left_email: impl Fn(&'a L) -> Option<&'a str>,
    right_email: impl Fn(&'a R) -> Option<&'a str>,
    overrides: &'a IdentityOverrides,
) -> Joined {
    let mut pairs = Vec::with_capacity(left.len().min(right.len()));
    let mut joined = join_each(left, right, left_email, right_email, overrides, |l, r| pairs.push((l, r)));
    joined.pairs = pairs;
    joined
}

/// [`join`], handing each matched pair to `on_pair` in left order instead of collecting
/// them: the returned [`Joined`] has no `pairs`. A planner that looks at each pair once
/// saves the memory (and, in a fresh process, the page faults) of 100,000 pairs.
///
/// ```
/// use deskbridge::identity::{join_each, IdentityOverrides};
///
/// let left = ["ana@example.com", "ben@example.com", "carl@example.com"];
/// let right = ["CARL@example.com", "ana@example.com"];
/// let mut pairs = Vec::new();
/// let rest = join_each(&left, &right, |l| Some(*l), |r| Some(*r), &IdentityOverrides::default(), |l, r| {
///     pairs.push((l, r))
/// });
/// assert_eq!(pairs, vec![(0, 1), (2, 0)]);
/// assert!(rest.pairs.is_empty());
/// assert_eq!(rest.only_left, vec![1]);
/// ```
pub fn join_each<'a, L, R>(
    left: &'a [L],
    right: &'a [R],
    left_email: impl Fn(&'a L) -> Option<&'a str>,
    right_email: impl Fn(&'a R) -> Option<&'a str>,
    overrides: &'a IdentityOverrides,
    mut on_pair: impl FnMut(usize, usize),
) -> Joined {
    let hasher = foldhash::fast::RandomState::default();
    let right_key = |j: usize| right.get(j).and_then(&right_email).and_then(EmailKey::new);
    let as_u32 = |i: usize| u32::try_from(i).unwrap_or(DUPLICATE - 1);

    // The right side: the table, and its duplicates. Hashing a block first and inserting
    // it after, in separate loops, keeps the insert loop small so the processor overlaps
    // the cache misses of many inserts (a table of 100,000 agents does not fit in the L2
    // cache); inserting while hashing takes twice as long. The table keeps no copy of the
    // e-mails: a candidate is confirmed against the agent's own (a `Text` keeps e-mails of
    // up to 23 bytes inside the agent), which costs the same cache miss a copy would and
    // saves the copy's memory.
    const BLOCK: usize = 64;
    let mut right_duplicate = vec![false; right.len()];
    let mut table = Slots::with_capacity(right.len());
    let mut hashes: Vec<(usize, EmailKey<'a>, u64)> = Vec::with_capacity(BLOCK);
    for (start, chunk) in (0..).step_by(BLOCK).zip(right.chunks(BLOCK)) {
        hashes.clear();
        for (j, r) in (start..).zip(chunk) {
            if let Some(key) = right_email(r).and_then(EmailKey::new) {
                hashes.push((j, key, folded_hash(key, &hasher)));
            }
        }
        for &(j, key, hash) in &hashes {
            match table.find(hash, |k| right_key(k) == Some(key)) {
                Ok(first) => {
                    right_duplicate[first] = true;
                    right_duplicate[j] = true;
                }
                Err(pos) => table.insert_at(pos, hash, as_u32(j)),
            }
        }
    }

    // Overrides, looked up by the left agent's own e-mail (the first pair for an e-mail wins).
    let mut override_of: std::collections::HashMap<EmailKey<'a>, EmailKey<'a>, _> =
        std::collections::HashMap::with_hasher(foldhash::fast::RandomState::default());
    for (l, r) in &overrides.pairs {
        if let (Some(l), Some(r)) = (EmailKey::new(l), EmailKey::new(r)) {
            override_of.entry(l).or_insert(r);
        }
    }

    // The left side, probed in order. `owner[j]` is the left agent that matched `right[j]`.
    let mut outcome = vec![NO_EMAIL; left.len()];
    let mut owner = vec![NOBODY; right.len()];
    let mut unmatched: Vec<(u64, u32)> = Vec::new();
    let mut block: Vec<(usize, EmailKey<'a>, u64)> = Vec::with_capacity(BLOCK);
    for (start, chunk) in (0..).step_by(BLOCK).zip(left.chunks(BLOCK)) {
        block.clear();
        for (i, l) in (start..).zip(chunk) {
            let Some(own) = left_email(l).and_then(EmailKey::new) else { continue };
            let key =
                if override_of.is_empty() { own } else { override_of.get(&own).copied().unwrap_or(own) };
            block.push((i, key, folded_hash(key, &hasher)));
        }
        // Load the block's home slots and candidate e-mails in a tight loop first, so
        // their cache misses overlap; the probes below then find them in cache.
        let candidates = block.iter().filter_map(|&(_, _, hash)| table.home_candidate(hash));
        crate::prefetch::touch(candidates.filter_map(|k| right.get(k).and_then(&right_email)));
        for &(i, key, hash) in &block {
            match table.find(hash, |k| right_key(k) == Some(key)) {
                Ok(j) => {
                    outcome[i] = as_u32(j);
                    owner[j] = if owner[j] == NOBODY { as_u32(i) } else { SEVERAL };
                }
                Err(_) => {
                    outcome[i] = NO_MATCH;
                    unmatched.push((hash, as_u32(i)));
                }
            }
        }
    }
    // Unmatched left agents that share their match key are duplicates, too (left agents
    // that share a matched key show up as `SEVERAL` owners).
    if unmatched.len() > 1 {
        let left_key = |i: u32| {
            let own = left.get(i as usize).and_then(&left_email).and_then(EmailKey::new);
            own.map(|own| override_of.get(&own).copied().unwrap_or(own))
        };
        unmatched.sort_unstable_by_key(|u| u.0);
        for group in unmatched.chunk_by(|a, b| a.0 == b.0).filter(|g| g.len() > 1) {
            for a in group {
                if group.iter().any(|b| b.1 != a.1 && left_key(a.1) == left_key(b.1)) {
                    outcome[a.1 as usize] = DUPLICATE;
                }
            }
        }
    }

    let mut out = Joined::default();
    for (i, &o) in outcome.iter().enumerate() {
        match o {
            NO_EMAIL | NO_MATCH => out.only_left.push(i),
            DUPLICATE => out.ambiguous_left.push(i),
            j if owner[j as usize] == SEVERAL || right_duplicate[j as usize] => out.ambiguous_left.push(i),
            j => on_pair(i, j as usize),
        }
    }
    for (j, (&o, &duplicate)) in owner.iter().zip(&right_duplicate).enumerate() {
        if duplicate {
            out.ambiguous_right.push(j);
        } else if o == NOBODY || o == SEVERAL {
            out.only_right.push(j);
        }
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
    fn ascii_case_and_whitespace_do_not_matter() {
        let r = j(
            &["  Ana@Example.COM ", "Ünal@example.com", "\u{fc}nal@b.io", "\u{dc}x@b.io"],
            &["ana@example.com", "Ünal@EXAMPLE.com", "U\u{308}nal@B.IO", "U\u{308}x@b.io"],
            &Default::default(),
        );
        // NFC joins the two encodings of `ü`; `U` + U+0308 folds its ASCII `U` first, so
        // it is `ü`, not the precomposed capital `Ü`.
        assert_eq!(r.pairs, vec![(0, 0), (1, 1), (2, 2)]);
        assert_eq!(r.only_left, vec![3]);
    }

    #[test]
    fn non_ascii_case_and_look_alikes_do_not_join() {
        // The Kelvin sign lower-cases to an ASCII `k` under Unicode rules: a look-alike
        // address must not pair with the real one.
        let r =
            j(&["\u{212A}ate@corp.com", "Ünal@x.io"], &["kate@corp.com", "ünal@x.io"], &Default::default());
        assert!(r.pairs.is_empty(), "{r:?}");
        assert_eq!(r.only_left, vec![0, 1]);
        // Nor may the look-alike make the real one ambiguous on its own side.
        let r = j(&["kate@corp.com"], &["\u{212A}ate@corp.com", "KATE@corp.com"], &Default::default());
        assert_eq!(r.pairs, vec![(0, 1)]);
        assert!(r.ambiguous_right.is_empty());
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

    #[test]
    fn long_emails_are_compared_beyond_the_inline_prefix() {
        let long = "firstname.middlename.lastname";
        let r = j(
            &[
                &format!("{long}@Example.com"),
                &format!("{long}@example.org"),
                "Ünal.Ünal.Ünal.Ünal.Ünal@x.io",
            ],
            &[
                &format!("{long}@example.org"),
                &format!("{long}@example.com"),
                "Ünal.Ünal.Ünal.Ünal.Ünal@X.IO",
            ],
            &Default::default(),
        );
        assert_eq!(r.pairs, vec![(0, 1), (1, 0), (2, 2)]);
    }

    #[test]
    fn two_left_agents_overridden_onto_one_right_agent_are_ambiguous() {
        let ov = IdentityOverrides::default().pair("old@x.io", "new@x.io");
        let r = j(&["old@x.io", "NEW@x.io", "c@x.io"], &["new@x.io", "c@x.io"], &ov);
        assert_eq!(r.pairs, vec![(2, 1)]);
        assert_eq!(r.ambiguous_left, vec![0, 1]);
        assert_eq!(r.only_right, vec![0]);
    }

    #[test]
    fn a_large_join_pairs_every_agent_in_left_order() {
        let left: Vec<String> = (0..5000).map(|i| format!("Agent{i}@Example.com")).collect();
        let right: Vec<String> = (0..5000).rev().map(|i| format!("agent{i}@example.com")).collect();
        let l: Vec<&str> = left.iter().map(String::as_str).collect();
        let r: Vec<&str> = right.iter().map(String::as_str).collect();
        let out = j(&l, &r, &Default::default());
        let expected: Vec<(usize, usize)> = (0..5000).map(|i| (i, 4999 - i)).collect();
        assert_eq!(out.pairs, expected);
        assert!(out.only_left.is_empty() && out.only_right.is_empty());
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
                prop_assert_eq!(fold_email(l[a].trim()), fold_email(r[b].trim()));
            }
            for &a in out.only_left.iter().chain(&out.ambiguous_left) { seen_l[a] += 1; }
            for &b in out.only_right.iter().chain(&out.ambiguous_right) { seen_r[b] += 1; }
            prop_assert!(seen_l.iter().all(|&c| c == 1));
            prop_assert!(seen_r.iter().all(|&c| c == 1));
            // Against a naive reference: pair exactly the e-mails unique on both sides.
            let norm = |s: &str| fold_email(s.trim());
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
