//! Set operations on sorted, duplicate-free id lists (postings lists).

/// Inserts `id` keeping the list sorted; ids usually arrive in increasing order, so this is a
/// push in the common case.
pub(crate) fn insert(list: &mut Vec<u64>, id: u64) {
    match list.last() {
        Some(last) if *last >= id => {
            if let Err(position) = list.binary_search(&id) {
                list.insert(position, id);
            }
        }
        _ => list.push(id),
    }
}

/// Removes `id` if present; returns true when it was.
pub(crate) fn remove(list: &mut Vec<u64>, id: u64) -> bool {
    match list.binary_search(&id) {
        Ok(position) => {
            list.remove(position);
            true
        }
        Err(_) => false,
    }
}

/// Ids present in both lists.
pub(crate) fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    // A tiny list against a large one: binary search beats a linear merge.
    if small.len() * 16 < large.len() {
        return small
            .iter()
            .copied()
            .filter(|id| large.binary_search(id).is_ok())
            .collect();
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::with_capacity(small.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Ids of `a` that are not in `b`.
pub(crate) fn subtract(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut j, mut out) = (0, Vec::with_capacity(a.len()));
    for &id in a {
        while j < b.len() && b[j] < id {
            j += 1;
        }
        if j >= b.len() || b[j] != id {
            out.push(id);
        }
    }
    out
}

/// Ids present in any of the lists.
pub(crate) fn union<'a>(lists: impl IntoIterator<Item = &'a [u64]>) -> Vec<u64> {
    let lists: Vec<&[u64]> = lists.into_iter().filter(|l| !l.is_empty()).collect();
    match lists.as_slice() {
        [] => Vec::new(),
        [only] => only.to_vec(),
        _ => {
            // Concatenate then sort: simpler than a heap merge and fast for the list sizes here.
            let mut out: Vec<u64> = lists.iter().flat_map(|l| l.iter().copied()).collect();
            out.sort_unstable();
            out.dedup();
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let a = [1, 3, 5, 7, 9];
        let b = [3, 4, 5, 10];
        assert_eq!(intersect(&a, &b), vec![3, 5]);
        assert_eq!(subtract(&a, &b), vec![1, 7, 9]);
        assert_eq!(union([&a[..], &b[..]]), vec![1, 3, 4, 5, 7, 9, 10]);
        let large: Vec<u64> = (0..1000).collect();
        assert_eq!(intersect(&[5, 999, 2000], &large), vec![5, 999]);
    }

    #[test]
    fn insert_and_remove_keep_order() {
        let mut list = vec![];
        for id in [5, 1, 9, 5, 3] {
            insert(&mut list, id);
        }
        assert_eq!(list, vec![1, 3, 5, 9]);
        assert!(remove(&mut list, 3));
        assert!(!remove(&mut list, 4));
        assert_eq!(list, vec![1, 5, 9]);
    }
}
