//! Clustering proposals: groups of demands that likely ask for the same thing, for staff to accept,
//! edit or reject (nothing is merged by the engine itself).
//!
//! Each demand in scope asks the index for its nearest neighbours in scope scoring at least the
//! threshold. The pairs found are merged best first into groups, average linkage: two groups join
//! only if their demands are, on average, still similar enough to each other
//! ([`LINKAGE`] × threshold), so a chain of loosely related demands does not collapse into one group.
//! A group is proposed with its most central demand first (the highest mean similarity to the
//! others), that demand's title as its representative title, the content words most of its demands
//! share, its cohesion (mean pairwise similarity) and the open common issue it most resembles.

use std::collections::{HashMap, HashSet};

use super::index::{Index, ItemKind, Probe, SearchLimits};

/// Share of the threshold the mean similarity between two groups must reach for them to merge.
pub const LINKAGE: f64 = 0.85;
/// Largest group proposed (a common issue takes at most 500 demands in one call).
pub const MAX_GROUP: usize = 500;
/// Pairs compared at most to measure a group's cohesion.
const PAIR_SAMPLE: usize = 400;
/// Pairs compared at most when two groups are about to merge.
const MERGE_SAMPLE: usize = 64;
/// Other members a member is compared with at most to find the most central one.
const CENTRALITY_SAMPLE: usize = 100;

/// How to cluster.
#[derive(Debug, Clone, Copy)]
pub struct ClusterOptions {
    /// Lowest similarity of two demands to be grouped, in [0, 1].
    pub threshold: f64,
    /// Smallest group proposed (at least 2).
    pub min_size: usize,
    /// Neighbours each demand looks for.
    pub neighbours: usize,
    /// Threads used to find neighbours.
    pub threads: usize,
}

/// A proposed group.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// Its demands, most central first.
    pub demand_ids: Vec<String>,
    /// The most central demand's title.
    pub representative_title: String,
    /// Content words shared by most of its demands, most informative first.
    pub shared_terms: Vec<String>,
    /// Mean pairwise similarity.
    pub cohesion: f64,
    /// The open common issue it most resembles, if one scores at least the threshold.
    pub suggested_common_issue_id: Option<String>,
}

struct Disjoint {
    parent: Vec<usize>,
    members: Vec<Vec<usize>>,
}

impl Disjoint {
    fn new(n: usize) -> Self {
        Self { parent: (0..n).collect(), members: (0..n).map(|i| vec![i]).collect() }
    }

    fn find(&mut self, mut x: usize) -> usize {
        while self.parent[x] != x {
            self.parent[x] = self.parent[self.parent[x]];
            x = self.parent[x];
        }
        x
    }
}

/// Evenly spread pairs of `a × b`, at most `max` (all of them when few), for estimating a mean
/// similarity.
fn sample_pairs(a: &[usize], b: &[usize], max: usize) -> Vec<(usize, usize)> {
    let total = a.len() * b.len();
    let step = total.div_ceil(max.max(1)).max(1);
    (0..total).step_by(step).map(|k| (a[k / b.len()], b[k % b.len()])).collect()
}

/// Similarities between the demands being clustered: the pairs the neighbour search found, and any
/// other pair computed when asked (not kept: there may be millions).
struct Pairs<'a> {
    index: &'a Index,
    slots: &'a [u32],
    known: HashMap<(usize, usize), f64>,
    probes: HashMap<usize, Probe>,
}

impl Pairs<'_> {
    fn get(&mut self, a: usize, b: usize) -> f64 {
        let key = (a.min(b), a.max(b));
        if let Some(&s) = self.known.get(&key) {
            return s;
        }
        let (index, slots) = (self.index, self.slots);
        let probe = self.probes.entry(key.0).or_insert_with(|| index.probe_at(slots[key.0]).unwrap_or_default());
        index.score_at(probe, slots[key.1])
    }

    fn mean(&mut self, pairs: &[(usize, usize)]) -> f64 {
        if pairs.is_empty() {
            return 0.0;
        }
        pairs.iter().map(|&(a, b)| self.get(a, b)).sum::<f64>() / pairs.len() as f64
    }
}

/// Groups the demands `ids` (those not in the index are ignored).
pub fn propose(index: &Index, ids: &[String], options: ClusterOptions) -> Vec<Group> {
    let mut seen = HashSet::new();
    let present: Vec<(&String, u32)> = ids
        .iter()
        .filter(|id| seen.insert(id.as_str()))
        .filter_map(|id| index.slot(ItemKind::Demand, id).map(|slot| (id, slot)))
        .collect();
    let slots: Vec<u32> = present.iter().map(|&(_, slot)| slot).collect();
    let position: HashMap<u32, usize> = slots.iter().enumerate().map(|(i, &slot)| (slot, i)).collect();
    let subset = index.subset(present.iter().map(|(id, _)| (ItemKind::Demand, id.as_str())));

    // Nearest neighbours of every demand within the scope, in parallel.
    let threads = options.threads.clamp(1, 16);
    let chunk = present.len().div_ceil(threads).max(1);
    let limits = SearchLimits { limit: options.neighbours.max(1), min_score: options.threshold };
    let mut edges: Vec<(f64, usize, usize)> = std::thread::scope(|scope| {
        let handles: Vec<_> = present
            .chunks(chunk)
            .enumerate()
            .map(|(c, part)| {
                let (position, subset) = (&position, &subset);
                scope.spawn(move || {
                    let mut found = Vec::new();
                    for (k, &(id, slot)) in part.iter().enumerate() {
                        let me = c * chunk + k;
                        let Some(probe) = index.probe_at(slot) else { continue };
                        let accept = |item: &super::index::Item| item.id != *id;
                        for hit in index.search_in(&probe, subset, accept, limits) {
                            let other = index.slot(ItemKind::Demand, &hit.item.id).and_then(|s| position.get(&s));
                            if let Some(&other) = other {
                                found.push((hit.score, me.min(other), me.max(other)));
                            }
                        }
                    }
                    found
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap_or_default()).collect()
    });
    edges.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    edges.dedup_by(|a, b| a.1 == b.1 && a.2 == b.2);

    let mut pairs = Pairs {
        index,
        slots: &slots,
        known: edges.iter().map(|&(s, a, b)| ((a, b), s)).collect(),
        probes: HashMap::new(),
    };
    let mut sets = Disjoint::new(present.len());
    for &(_, a, b) in &edges {
        let (ra, rb) = (sets.find(a), sets.find(b));
        if ra == rb || sets.members[ra].len() + sets.members[rb].len() > MAX_GROUP {
            continue;
        }
        let sample = sample_pairs(&sets.members[ra], &sets.members[rb], MERGE_SAMPLE);
        if pairs.mean(&sample) < options.threshold * LINKAGE {
            continue;
        }
        let (keep, gone) = if sets.members[ra].len() >= sets.members[rb].len() { (ra, rb) } else { (rb, ra) };
        let moved = std::mem::take(&mut sets.members[gone]);
        sets.members[keep].extend(moved);
        sets.parent[gone] = keep;
    }

    let min_size = options.min_size.max(2);
    let mut groups = Vec::new();
    for root in 0..present.len() {
        if sets.parent[root] != root || sets.members[root].len() < min_size {
            continue;
        }
        let members = sets.members[root].clone();
        groups.push(describe(&mut pairs, &present, &members, options.threshold));
    }
    groups.sort_by(|a, b| {
        b.demand_ids
            .len()
            .cmp(&a.demand_ids.len())
            .then(b.cohesion.total_cmp(&a.cohesion))
            .then(a.demand_ids.cmp(&b.demand_ids))
    });
    groups
}

fn describe(pairs: &mut Pairs<'_>, present: &[(&String, u32)], members: &[usize], threshold: f64) -> Group {
    let index = pairs.index;
    // Centrality: mean similarity to (a sample of) the other members.
    let mut centrality: Vec<(f64, usize)> = members
        .iter()
        .map(|&m| {
            let others: Vec<usize> = members.iter().copied().filter(|&o| o != m).collect();
            let step = others.len().div_ceil(CENTRALITY_SAMPLE).max(1);
            let sample: Vec<(usize, usize)> = others.iter().step_by(step).map(|&o| (m, o)).collect();
            (pairs.mean(&sample), m)
        })
        .collect();
    centrality.sort_by(|a, b| b.0.total_cmp(&a.0).then(present[a.1].0.cmp(present[b.1].0)));
    let all: Vec<(usize, usize)> = {
        let mut all = Vec::new();
        for (i, &a) in members.iter().enumerate() {
            for &b in &members[i + 1..] {
                all.push((a, b));
            }
        }
        let step = all.len().div_ceil(PAIR_SAMPLE).max(1);
        all.into_iter().step_by(step).collect()
    };
    let cohesion = pairs.mean(&all);
    let center = present[centrality[0].1].1;
    let representative_title = index.item_at(center).map(|i| i.title.clone()).unwrap_or_default();

    // Words most members use, weighed by how informative they are.
    let mut counts: HashMap<u32, usize> = HashMap::new();
    for &m in members {
        for word in index.words_at(present[m].1) {
            *counts.entry(word).or_default() += 1;
        }
    }
    let needed = members.len().div_ceil(2).max(2);
    let mut shared: Vec<(f32, u32)> =
        counts.into_iter().filter(|&(_, n)| n >= needed).map(|(id, n)| (n as f32 * index.idf(id), id)).collect();
    shared.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let shared_terms =
        shared.into_iter().take(8).filter_map(|(_, id)| index.word_text(id).map(str::to_owned)).collect();

    let suggested_common_issue_id = index.probe_at(center).and_then(|probe| {
        index
            .search(&probe, |item| item.kind == ItemKind::CommonIssue, SearchLimits { limit: 1, min_score: threshold })
            .into_iter()
            .next()
            .map(|hit| hit.item.id)
    });
    Group {
        demand_ids: centrality.iter().map(|&(_, m)| present[m].0.clone()).collect(),
        representative_title,
        shared_terms,
        cohesion: (cohesion * 1e6).round() / 1e6,
        suggested_common_issue_id,
    }
}

#[cfg(test)]
mod tests {
    use super::super::index::Item;
    use super::*;

    fn add(index: &mut Index, kind: ItemKind, id: &str, text: &str) {
        let item = Item {
            kind,
            id: id.into(),
            title: text.into(),
            category: "finance_credit".into(),
            common_issue_id: None,
            enterprise_id: None,
            version: 1,
        };
        index.upsert(item, text);
    }

    fn options(threshold: f64) -> ClusterOptions {
        ClusterOptions { threshold, min_size: 2, neighbours: 10, threads: 2 }
    }

    #[test]
    fn duplicates_group_together_and_unrelated_demands_stay_apart() {
        let mut index = Index::new();
        let texts = [
            ("a1", "渔船抵押贷款利率偏高，希望降低融资成本"),
            ("a2", "渔船抵押贷款利率太高，融资成本高"),
            ("a3", "远洋渔船贷款利率偏高，融资难融资贵"),
            ("b1", "码头集装箱运力不足，物流成本高"),
            ("b2", "集装箱运力紧张，码头物流运输成本偏高"),
            ("c1", "高层次人才子女入学难"),
        ];
        for (id, text) in texts {
            add(&mut index, ItemKind::Demand, id, text);
        }
        add(&mut index, ItemKind::CommonIssue, "issue-1", "渔船贷款利率偏高 融资成本高");
        let ids: Vec<String> = texts.iter().map(|(id, _)| (*id).to_owned()).collect();
        let groups = propose(&index, &ids, options(0.2));
        assert_eq!(groups.len(), 2, "{groups:#?}");
        let mut first = groups[0].demand_ids.clone();
        first.sort();
        assert_eq!(first, ["a1", "a2", "a3"]);
        let mut second = groups[1].demand_ids.clone();
        second.sort();
        assert_eq!(second, ["b1", "b2"]);
        assert!(groups[0].shared_terms.iter().any(|t| t == "渔船" || t == "贷款"), "{:?}", groups[0].shared_terms);
        assert_eq!(groups[0].suggested_common_issue_id.as_deref(), Some("issue-1"));
        assert!(groups[0].cohesion >= 0.2 * LINKAGE);
        assert!(texts.iter().any(|(_, t)| *t == groups[0].representative_title));
    }

    #[test]
    fn out_of_scope_and_unknown_demands_are_left_out() {
        let mut index = Index::new();
        add(&mut index, ItemKind::Demand, "a1", "渔船抵押贷款利率偏高");
        add(&mut index, ItemKind::Demand, "a2", "渔船抵押贷款利率偏高");
        add(&mut index, ItemKind::Demand, "a3", "渔船抵押贷款利率偏高");
        let groups = propose(&index, &["a1".into(), "a2".into(), "ghost".into()], options(0.5));
        assert_eq!(groups.len(), 1);
        let mut ids = groups[0].demand_ids.clone();
        ids.sort();
        assert_eq!(ids, ["a1", "a2"]);
        assert!(propose(&index, &["a1".into()], options(0.5)).is_empty());
        assert!(propose(&index, &[], options(0.5)).is_empty());
    }
}
