//! git's revision walk (`git log A..B -- <paths>`), replayed in memory over a [`Graph`].
//!
//! This follows git's `revision.c` step by step, because the answer must be the one git
//! gives, including where git's walk depends on the order it visits commits: commits come
//! off a queue ordered by committer date (ties: first in, first out); an uninteresting
//! commit marks its parents, and the parents of those already read; an interesting
//! commit is simplified before its parents are queued: the first *relevant* parent it is
//! TREESAME to (no change under the paths) becomes its only parent, so the other side of
//! that merge is not walked from here. "Relevant" is whatever is not yet known to be
//! uninteresting, or the release commit itself, so the answer can depend on how far the
//! marking has got: that is why the walk is replayed, not recomputed from reachability.
//! The walk stops as git's does: once only uninteresting commits are queued, after
//! `SLOP` more of them.
//!
//! A merge whose parent lies below the history that was read leaves that parent's state
//! unknown; when the two possible states would simplify the merge differently, the walk
//! gives up (`None`) and the caller asks git for that service.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::graph::{Graph, OUTSIDE};

const SEEN: u8 = 1;
const ADDED: u8 = 2;
const UNINTERESTING: u8 = 4;
const BOTTOM: u8 = 8;
const TREESAME: u8 = 16;
const PARSED: u8 = 32;
const QUEUED: u8 = 64;
/// git's `SLOP`: uninteresting commits walked after the last interesting one.
const SLOP: u32 = 5;
/// No simplification: all parents kept.
const ALL: u32 = u32::MAX;
/// Beyond this many unread parents of one merge, the walk does not try every case.
const MAX_UNKNOWN_PARENTS: usize = 4;

/// The walk could not tell what git would do (see the module documentation).
struct Unsure;

/// How one interesting commit is simplified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Simplified {
    treesame: bool,
    /// The only parent kept, or [`ALL`].
    kept: u32,
}

/// Replays the walk for one service after another over the same graph, reusing its
/// buffers (only what a walk touched is reset).
pub(super) struct Walker<'g> {
    graph: &'g Graph,
    flags: Vec<u8>,
    kept: Vec<u32>,
    touched: Vec<u32>,
    queue: BinaryHeap<(i64, Reverse<u64>, u32)>,
    seq: u64,
    interesting_queued: usize,
    stack: Vec<u32>,
    slot: u32,
}

impl<'g> Walker<'g> {
    /// A walker over `graph`.
    pub(super) fn new(graph: &'g Graph) -> Walker<'g> {
        let n = graph.ids.len();
        Walker {
            graph,
            flags: vec![0; n],
            kept: vec![ALL; n],
            touched: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            interesting_queued: 0,
            stack: Vec::new(),
            slot: 0,
        }
    }

    /// Returns what `git log since..until -- <the paths of service slot>` lists, as
    /// indices into the graph in git's order, or `None` when the graph cannot tell.
    pub(super) fn run(
        &mut self,
        slot: u32,
        until: gix::ObjectId,
        since: Option<gix::ObjectId>,
    ) -> Option<Vec<u32>> {
        self.reset();
        self.slot = slot;
        // Committer dates that go backwards make git's walk depend on the history below
        // the part that was read.
        if self.graph.cut && self.graph.skewed {
            return None;
        }
        let until = *self.graph.index.get(&until)?;
        let since = match since {
            Some(id) => Some(*self.graph.index.get(&id)?),
            None => None,
        };
        self.walk(until, since).ok()
    }

    fn reset(&mut self) {
        for &c in &self.touched {
            self.flags[c as usize] = 0;
            self.kept[c as usize] = ALL;
        }
        self.touched.clear();
        self.queue.clear();
        self.seq = 0;
        self.interesting_queued = 0;
    }

    fn walk(&mut self, until: u32, since: Option<u32>) -> Result<Vec<u32>, Unsure> {
        // setup_revisions + prepare_revision_walk: `^since` is read first and marks its
        // parents; then `until`, which may already be marked by then.
        // Both are read (parsed) while the command line is.
        let mut start = Vec::new();
        self.set(until, PARSED);
        if let Some(since) = since {
            self.set(since, UNINTERESTING | BOTTOM | PARSED | SEEN);
            self.mark_parents_uninteresting(since);
            start.push(since);
        }
        if self.flags[until as usize] & UNINTERESTING != 0 {
            self.mark_parents_uninteresting(until);
        }
        if self.flags[until as usize] & SEEN == 0 {
            self.set(until, SEEN);
            start.push(until);
        }
        for c in start {
            self.push(c);
        }
        // limit_list (without a release nothing is uninteresting and git streams the
        // same walk).
        let mut date = i64::MAX;
        let mut slop = SLOP;
        let mut listed = Vec::new();
        while let Some(c) = self.pop() {
            self.process_parents(c)?;
            if self.flags[c as usize] & UNINTERESTING != 0 {
                self.mark_parents_uninteresting(c);
                slop = self.still_interesting(date, slop);
                if slop > 0 {
                    continue;
                }
                break;
            }
            date = self.graph.date[c as usize];
            listed.push(c);
        }
        listed.retain(|&c| self.flags[c as usize] & (UNINTERESTING | TREESAME) == 0);
        Ok(listed)
    }

    fn set(&mut self, c: u32, flags: u8) {
        let f = &mut self.flags[c as usize];
        if *f == 0 {
            self.touched.push(c);
        }
        *f |= flags;
    }

    fn has(&self, c: u32, flag: u8) -> bool {
        self.flags[c as usize] & flag != 0
    }

    /// The commit's parents as git sees them now: all, or the one simplification kept.
    fn parents(&self, c: u32) -> &'g [u32] {
        let all = &self.graph.parents[c as usize];
        match self.kept[c as usize] {
            ALL => all,
            k => &all[k as usize..k as usize + 1],
        }
    }

    /// Whether `c` changed the service's paths against its parent number `k` (for a
    /// root commit, `k` = 0: against the empty tree).
    fn changed(&self, c: u32, k: usize) -> bool {
        self.graph.touched[c as usize][k]
            .binary_search(&self.slot)
            .is_ok()
    }

    fn push(&mut self, c: u32) {
        self.set(c, QUEUED);
        if !self.has(c, UNINTERESTING) {
            self.interesting_queued += 1;
        }
        self.seq += 1;
        self.queue
            .push((self.graph.date[c as usize], Reverse(self.seq), c));
    }

    fn pop(&mut self) -> Option<u32> {
        let (_, _, c) = self.queue.pop()?;
        self.flags[c as usize] &= !QUEUED;
        if !self.has(c, UNINTERESTING) {
            self.interesting_queued -= 1;
        }
        Some(c)
    }

    /// Marks `c` uninteresting; returns whether it was not already.
    fn set_uninteresting(&mut self, c: u32) -> bool {
        if self.has(c, UNINTERESTING) {
            return false;
        }
        if self.has(c, QUEUED) {
            self.interesting_queued -= 1;
        }
        self.set(c, UNINTERESTING);
        true
    }

    /// git's mark_parents_uninteresting: the parents, and recursively the parents of
    /// those already read.
    fn mark_parents_uninteresting(&mut self, c: u32) {
        let mut stack = std::mem::take(&mut self.stack);
        stack.clear();
        stack.extend(self.parents(c).iter().filter(|&&p| p != OUTSIDE));
        while let Some(x) = stack.pop() {
            if self.set_uninteresting(x) && self.has(x, PARSED) {
                stack.extend(self.parents(x).iter().filter(|&&p| p != OUTSIDE));
            }
        }
        self.stack = stack;
    }

    /// git's still_interesting: how much slop is left once an uninteresting commit was
    /// walked.
    fn still_interesting(&self, date: i64, slop: u32) -> u32 {
        let Some(&(head, _, _)) = self.queue.peek() else {
            return 0;
        };
        if date <= head || self.interesting_queued > 0 {
            return SLOP;
        }
        slop - 1
    }

    fn process_parents(&mut self, c: u32) -> Result<(), Unsure> {
        if self.has(c, ADDED) {
            return Ok(());
        }
        self.set(c, ADDED);
        if self.has(c, UNINTERESTING) {
            for &p in self.parents(c) {
                if p == OUTSIDE {
                    continue;
                }
                self.set_uninteresting(p);
                self.set(p, PARSED);
                if !self.parents(p).is_empty() {
                    self.mark_parents_uninteresting(p);
                }
                if !self.has(p, SEEN) {
                    self.set(p, SEEN);
                    self.push(p);
                }
            }
            return Ok(());
        }
        self.simplify(c)?;
        for &p in self.parents(c) {
            if p == OUTSIDE {
                continue;
            }
            self.set(p, PARSED);
            if !self.has(p, SEEN) {
                self.set(p, SEEN);
                self.push(p);
            }
        }
        Ok(())
    }

    /// git's try_to_simplify_commit for an interesting commit.
    fn simplify(&mut self, c: u32) -> Result<(), Unsure> {
        let parents = &self.graph.parents[c as usize];
        if parents.is_empty() {
            if !self.changed(c, 0) {
                self.set(c, TREESAME);
            }
            return Ok(());
        }
        let unknown: Vec<usize> = (0..parents.len())
            .filter(|&k| parents[k] == OUTSIDE)
            .collect();
        let decided = if unknown.is_empty() || parents.len() == 1 {
            // A single parent's relevance does not change the outcome.
            self.decide(c, &unknown, 0)
        } else {
            if unknown.len() > MAX_UNKNOWN_PARENTS {
                return Err(Unsure);
            }
            let first = self.decide(c, &unknown, 0);
            for assume in 1..(1u32 << unknown.len()) {
                if self.decide(c, &unknown, assume) != first {
                    return Err(Unsure);
                }
            }
            first
        };
        // Parents are read as they are compared, up to the one kept.
        let read = match decided.kept {
            ALL => parents.len(),
            k => k as usize + 1,
        };
        for &p in &parents[..read] {
            if p != OUTSIDE {
                self.set(p, PARSED);
            }
        }
        if decided.kept != ALL {
            self.kept[c as usize] = decided.kept;
        }
        if decided.treesame {
            self.set(c, TREESAME);
        }
        Ok(())
    }

    /// The outcome of try_to_simplify_commit, with the unread parents `unknown[i]`
    /// taken as relevant when bit `i` of `assume` is set.
    fn decide(&self, c: u32, unknown: &[usize], assume: u32) -> Simplified {
        let parents = &self.graph.parents[c as usize];
        let mut relevant_parents = 0;
        let (mut relevant_change, mut irrelevant_change) = (false, false);
        for (k, &p) in parents.iter().enumerate() {
            let relevant = if p == OUTSIDE {
                let i = unknown.iter().position(|&u| u == k).unwrap_or(0);
                assume & (1 << i) != 0
            } else {
                self.flags[p as usize] & (UNINTERESTING | BOTTOM) != UNINTERESTING
            };
            if relevant {
                relevant_parents += 1;
            }
            if !self.changed(c, k) {
                if !relevant {
                    continue;
                }
                return Simplified {
                    treesame: true,
                    kept: k as u32,
                };
            }
            if relevant {
                relevant_change = true;
            } else {
                irrelevant_change = true;
            }
        }
        let treesame = if relevant_parents > 0 {
            !relevant_change
        } else {
            !irrelevant_change
        };
        Simplified {
            treesame,
            kept: ALL,
        }
    }
}
