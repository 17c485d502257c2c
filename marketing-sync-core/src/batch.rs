//! One per-item outcome for every batch operation.

/// What happened to one item of a batch: its position in the input, its key (an email, a code,
/// an id), and its result. Every batch call of every client returns one per input item, in
/// input order; one bad item never hides the others. `Ok` means the service took the item; a
/// refusal is always an `Err` (each client's `ItemError::Rejected`), never an `Ok` to inspect.
///
/// ```
/// use marketing_sync_core::ItemOutcome;
/// let outcomes = vec![
///     ItemOutcome::new(0, "a@example.com", Ok::<_, String>(())),
///     ItemOutcome::new(1, "b@example.com", Err("refused".to_string())),
/// ];
/// let failed: Vec<_> = outcomes.iter().filter(|o| !o.is_ok()).map(|o| o.key).collect();
/// assert_eq!(failed, ["b@example.com"]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct ItemOutcome<K, T, E> {
    /// The item's position in the input (0-based).
    pub index: usize,
    /// The item's key, as given.
    pub key: K,
    /// What happened to it.
    pub result: Result<T, E>,
}

impl<K, T, E> ItemOutcome<K, T, E> {
    /// An outcome for the item at `index`.
    ///
    /// ```
    /// let o = marketing_sync_core::ItemOutcome::new(3, "C1", Ok::<u8, ()>(7));
    /// assert_eq!((o.index, o.key, o.result), (3, "C1", Ok(7)));
    /// ```
    pub fn new(index: usize, key: K, result: Result<T, E>) -> Self {
        ItemOutcome { index, key, result }
    }

    /// Whether the item succeeded.
    ///
    /// ```
    /// assert!(marketing_sync_core::ItemOutcome::new(0, (), Ok::<(), ()>(())).is_ok());
    /// ```
    pub fn is_ok(&self) -> bool {
        self.result.is_ok()
    }

    /// The error, if the item failed.
    ///
    /// ```
    /// let o = marketing_sync_core::ItemOutcome::new(0, (), Err::<(), _>("no"));
    /// assert_eq!(o.error(), Some(&"no"));
    /// ```
    pub fn error(&self) -> Option<&E> {
        self.result.as_ref().err()
    }

    /// The same outcome with its success value mapped.
    ///
    /// ```
    /// let o = marketing_sync_core::ItemOutcome::new(0, (), Ok::<u8, ()>(2)).map(|n| n * 2);
    /// assert_eq!(o.result, Ok(4));
    /// ```
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ItemOutcome<K, U, E> {
        ItemOutcome {
            index: self.index,
            key: self.key,
            result: self.result.map(f),
        }
    }
}
