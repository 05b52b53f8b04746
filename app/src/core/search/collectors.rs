//! Collectors over the kind of each match: counts per kind in one pass,
//! and a page fed only the chosen kinds' matches.

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::{DocId, Score, SegmentOrdinal, SegmentReader};

/// A kind as a number, for the fast field the per-kind counts read.
pub(super) fn kind_code(kind: &str) -> u64 {
    // FNV-1a: stable across releases (the index keeps it).
    kind.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Counts the matches of each of `codes`' kinds in one pass.
pub(super) struct KindCounts {
    pub(super) codes: Vec<u64>,
}

pub(super) struct KindCountsInSegment {
    column: tantivy::columnar::Column<u64>,
    codes: Vec<u64>,
    counts: Vec<usize>,
}

impl Collector for KindCounts {
    type Fruit = Vec<usize>;
    type Child = KindCountsInSegment;

    fn for_segment(
        &self,
        _: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<KindCountsInSegment> {
        Ok(KindCountsInSegment {
            column: segment.fast_fields().u64("kind_code")?,
            codes: self.codes.clone(),
            counts: vec![0; self.codes.len()],
        })
    }

    fn requires_scoring(&self) -> bool {
        false
    }

    fn merge_fruits(&self, fruits: Vec<Vec<usize>>) -> tantivy::Result<Vec<usize>> {
        let mut total = vec![0; self.codes.len()];
        for f in fruits {
            for (t, n) in total.iter_mut().zip(f) {
                *t += n;
            }
        }
        Ok(total)
    }
}

/// `inner`, fed only the matches of `codes`' kinds: the page's hits come
/// from the same pass that counts every kind.
pub(super) struct OfKinds<C> {
    pub(super) inner: C,
    pub(super) codes: Vec<u64>,
}

pub(super) struct OfKindsInSegment<S> {
    inner: S,
    column: tantivy::columnar::Column<u64>,
    codes: Vec<u64>,
}

impl<C: Collector> Collector for OfKinds<C> {
    type Fruit = C::Fruit;
    type Child = OfKindsInSegment<C::Child>;

    fn for_segment(
        &self,
        ordinal: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<Self::Child> {
        Ok(OfKindsInSegment {
            inner: self.inner.for_segment(ordinal, segment)?,
            column: segment.fast_fields().u64("kind_code")?,
            codes: self.codes.clone(),
        })
    }

    fn requires_scoring(&self) -> bool {
        self.inner.requires_scoring()
    }

    fn merge_fruits(
        &self,
        fruits: Vec<<C::Child as SegmentCollector>::Fruit>,
    ) -> tantivy::Result<C::Fruit> {
        self.inner.merge_fruits(fruits)
    }
}

impl<S: SegmentCollector> SegmentCollector for OfKindsInSegment<S> {
    type Fruit = S::Fruit;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self
            .column
            .first(doc)
            .is_some_and(|c| self.codes.contains(&c))
        {
            self.inner.collect(doc, score);
        }
    }

    fn harvest(self) -> S::Fruit {
        self.inner.harvest()
    }
}

impl SegmentCollector for KindCountsInSegment {
    type Fruit = Vec<usize>;

    fn collect(&mut self, doc: DocId, _: Score) {
        if let Some(code) = self.column.first(doc) {
            if let Some(i) = self.codes.iter().position(|c| *c == code) {
                self.counts[i] += 1;
            }
        }
    }

    fn harvest(self) -> Vec<usize> {
        self.counts
    }
}
