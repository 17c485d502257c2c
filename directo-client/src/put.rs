//! Writes (`put=1`): documents checked against their [`Target`], split into requests that
//! stay under Directo's size limit, and one [`PutOutcome`] per input document.

use std::sync::Arc;

use crate::client::Client;
use crate::error::{Error, ItemError, Result};
use crate::put_results::{PutResult, PutStatus, parse_put_results};
use crate::record::{FromRecord, Record};
use crate::target::Target;
use crate::xmldata::{DECL, envelope, form_len, legal_chars, write_record};

/// A value that can be written as Directo XML.
pub trait ToRecord {
    /// What a put sends: the input schema's attributes that are set, and nothing else.
    fn to_record(&self) -> Record;
    /// The value as Directo's *output* carries it (what a read returns): output names,
    /// output-only fields such as `ts`, unknown attributes kept. For fakes and tests; puts
    /// use [`to_record`](Self::to_record).
    fn to_output_record(&self) -> Record;
}

impl ToRecord for Record {
    fn to_record(&self) -> Record {
        self.clone()
    }
    fn to_output_record(&self) -> Record {
        self.clone()
    }
}

/// A typed document of one component, for [`Client::put`] and [`Client::read`].
pub trait Document: ToRecord + FromRecord {
    /// The `what` component, e.g. `customer`; its [`Target`] is [`Target::of`] it.
    const WHAT: &'static str;
}

/// How a put treats existing documents: the transport parameters of XML Direct's "technical
/// requirements" page (wiki `en/xml_direct/alustamine/tehnilised_nouded`).
///
/// ```
/// # #[cfg(feature = "fake")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use directo_client::{fake::FakeDirecto, Customer, PutMode};
/// let fake = FakeDirecto::start().await;
/// let mut mari = Customer::new("C1");
/// mari.email = Some("mari@example.ee".into());
/// mari.name = Some("Mari".into());
/// fake.seed_customers([mari]);
/// // An e-mail write-back: the partial update changes name, email and phone only.
/// let mut change = Customer::new("C1");
/// change.email = Some("mari.tamm@example.ee".into());
/// let outcomes = fake.client().put(&[change], PutMode::CustomerUpdate).await;
/// assert_eq!(outcomes[0].result.as_ref().unwrap().code, Some(30)); // "30 Updated"
/// assert_eq!(fake.customers()[0].name.as_deref(), Some("Mari"));
/// assert_eq!(PutMode::CustomerUpdate.params(), [("xd_customer_update", "1")]);
/// # Ok::<(), directo_client::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum PutMode {
    /// Create new documents (no parameter). An existing one is answered "Duplicate" (11).
    #[default]
    Create,
    /// `xd_update=1`: create or modify; a modified document is **overwritten** by the one you
    /// post ("post the whole document (it is overwritten)", wiki
    /// `en/xml_direct/alustamine/tehnilised_nouded`). A document of a target with a vendored
    /// input schema must therefore carry every input attribute (an empty value blanks one on
    /// purpose); one that leaves any out is refused before sending
    /// ([`Error::InvalidInput`] naming them), since Directo would blank them, and a
    /// read-modify-write cannot keep them (many input fields are not in the output).
    /// Use [`CustomerUpdate`](PutMode::CustomerUpdate) to change name, email or phone, or
    /// [`Replace`](PutMode::Replace) to overwrite deliberately. A confirmed document is
    /// refused (Type 14).
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, PutMode};
    /// let fake = FakeDirecto::start().await;
    /// let mut mari = Customer::new("C1");
    /// mari.email = Some("mari@example.ee".into());
    /// let out = fake.client().put(&[mari.clone()], PutMode::Update).await;
    /// assert!(out[0].result.as_ref().unwrap_err().to_string().contains("CustomerUpdate"));
    /// assert!(fake.puts().is_empty()); // nothing was sent
    /// let out = fake.client().put(&[mari], PutMode::Replace).await;
    /// assert!(out[0].is_ok());
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    Update,
    /// `xd_update=1`, naming the overwrite: the posted document replaces the stored one and
    /// every input field it leaves out is blanked. The explicit opt-in for a sparse full
    /// update, which [`PutMode::Update`] refuses.
    Replace,
    /// `xd_update=1&xd_updateconfirmed=1`: also modify confirmed documents. Only for
    /// `order`, `invoice`, `purchaseorder` and `stockreceipt` (documented).
    UpdateConfirmed,
    /// `xd_customer_update=1`: a partial update of an existing customer's `name`, `email`
    /// and `phone` only, answered "30 Updated" (documented), e.g. an e-mail write-back.
    /// Documents may carry `code` and those three attributes only.
    CustomerUpdate,
    /// `xd_supplier_update=1`: the same for an existing supplier (`what=supplier`).
    SupplierUpdate,
}

/// Components whose confirmed documents `xd_updateconfirmed=1` may modify (documented).
const UPDATE_CONFIRMED: &[&str] = &["order", "invoice", "purchaseorder", "stockreceipt"];

/// What a partial partner update may carry (documented: name, email and phone).
const PARTIAL: &[&str] = &["code", "name", "email", "phone"];

impl PutMode {
    /// The transport parameters this mode sends.
    pub fn params(self) -> &'static [(&'static str, &'static str)] {
        match self {
            PutMode::Create => &[],
            PutMode::Update | PutMode::Replace => &[("xd_update", "1")],
            PutMode::UpdateConfirmed => &[("xd_update", "1"), ("xd_updateconfirmed", "1")],
            PutMode::CustomerUpdate => &[("xd_customer_update", "1")],
            PutMode::SupplierUpdate => &[("xd_supplier_update", "1")],
        }
    }

    fn check(self, what: &str) -> Result<()> {
        let ok = match self {
            PutMode::Create | PutMode::Update | PutMode::Replace => true,
            PutMode::UpdateConfirmed => UPDATE_CONFIRMED.contains(&what),
            PutMode::CustomerUpdate => what == "customer",
            PutMode::SupplierUpdate => what == "supplier",
        };
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidInput(format!(
                "{self:?} ({}) does not apply to what={what}",
                self.params().last().map_or("", |(k, _)| *k)
            )))
        }
    }

    fn is_partial(self) -> bool {
        matches!(self, PutMode::CustomerUpdate | PutMode::SupplierUpdate)
    }
}

/// Names a put's transport parameters may not take: the protocol's own (`put`, `get`,
/// `what`, `xmldata`, `token`, `key`, `ts`; wiki `en/xml_direct`, `en/xmlcore`) and the
/// parameters [`PutMode`] sends.
const RESERVED: &[&str] = &[
    "put",
    "get",
    "what",
    "xmldata",
    "token",
    "key",
    "ts",
    "xd_update",
    "xd_updateconfirmed",
    "xd_customer_update",
    "xd_supplier_update",
];

/// Component-specific transport parameters of a put, beside its [`PutMode`]: `xd_confirm`,
/// `confirm`, `object`, `project` (the receipt page of XML Direct's components), or any
/// other by name. Checked when set: a name is ASCII letters, digits and `_`, never one of
/// the protocol's own (`put`, `what`, `xmldata`, `token`, `key`, `ts`, …) nor a
/// [`PutMode`] parameter (`xd_update`, …: choose the mode instead); a value holds no
/// control character. Sent where the mode's parameters go (the form body, and the query
/// string unless [`routing_in_query`](crate::ClientBuilder::routing_in_query) is off).
///
/// ```
/// # #[cfg(feature = "fake")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use directo_client::{fake::FakeDirecto, PutMode, PutParams, Receipt, ReceiptRow};
/// let fake = FakeDirecto::start().await;
/// let receipt = Receipt {
///     number: Some(77),
///     rows: vec![ReceiptRow { invoice: Some(1001), ..Default::default() }],
///     ..Default::default()
/// };
/// let params = PutParams::new().xd_confirm(true).object("OBJ1")?;
/// assert!(fake.client().put_with(&[receipt], PutMode::Create, &params).await.iter().all(|o| o.is_ok()));
/// assert_eq!(fake.xmlcore_requests()[0].param("xd_confirm"), Some("1"));
/// assert!(PutParams::new().param("xd_update", "1").is_err()); // PutMode::Update says that
/// # Ok::<(), directo_client::Error>(()) }).unwrap();
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PutParams {
    params: Vec<(String, String)>,
}

impl PutParams {
    /// No parameters.
    pub fn new() -> Self {
        Self::default()
    }

    /// `xd_confirm=1`: confirm the documents as they are imported (not sent when `false`).
    pub fn xd_confirm(self, on: bool) -> Self {
        self.flag("xd_confirm", on)
    }

    /// `confirm=1` (not sent when `false`).
    pub fn confirm(self, on: bool) -> Self {
        self.flag("confirm", on)
    }

    /// `object=<code>`: the financial object the documents are booked on.
    pub fn object(self, code: impl Into<String>) -> Result<Self> {
        self.non_empty("object", code.into())
    }

    /// `project=<code>`: the project the documents are booked on.
    pub fn project(self, code: impl Into<String>) -> Result<Self> {
        self.non_empty("project", code.into())
    }

    /// Any other parameter, checked (see the type). Setting a name again replaces its value.
    pub fn param(mut self, name: &str, value: impl Into<String>) -> Result<Self> {
        let value = value.into();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            return Err(Error::InvalidInput(format!(
                "transport parameter name {name:?}: ASCII letters, digits and _ only"
            )));
        }
        if RESERVED.iter().any(|r| r.eq_ignore_ascii_case(name)) {
            return Err(Error::InvalidInput(format!(
                "transport parameter {name:?} is the protocol's own or a PutMode's: choose the PutMode instead"
            )));
        }
        if value.chars().any(char::is_control) {
            return Err(Error::InvalidInput(format!(
                "transport parameter {name}: the value holds a control character"
            )));
        }
        self.params.retain(|(k, _)| k != name);
        self.params.push((name.to_string(), value));
        Ok(self)
    }

    /// The parameters, in the order they were set.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.params.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    fn flag(mut self, name: &str, on: bool) -> Self {
        self.params.retain(|(k, _)| k != name);
        if on {
            self.params.push((name.to_string(), "1".to_string()));
        }
        self
    }

    fn non_empty(self, name: &str, value: String) -> Result<Self> {
        if value.trim().is_empty() {
            return Err(Error::InvalidInput(format!(
                "transport parameter {name} must not be empty"
            )));
        }
        self.param(name, value)
    }
}

/// The outcome of one input document of a put: `Ok` with Directo's [`PutResult`] when it
/// stored the document (`Type` 0, 30 or none, no `error`), else an [`ItemError`].
///
/// ```
/// # #[cfg(feature = "fake")]
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use directo_client::{fake::FakeDirecto, Customer, Error, ItemError, PutMode};
/// let fake = FakeDirecto::start().await;
/// let mut ok = Customer::new("C1");
/// ok.email = Some("a@example.ee".into());
/// let no_email = Customer::new("C2"); // a new customer needs its e-mail
/// let outcomes = fake.client().put(&[ok.clone(), no_email], PutMode::Create).await;
/// assert!(outcomes[0].is_ok());
/// assert_eq!(outcomes[1].key.as_deref(), Some("C2"));
/// assert!(matches!(outcomes[1].error(), Some(ItemError::Failed(e)) if matches!(**e, Error::InvalidInput(_))));
/// assert_eq!(fake.puts().len(), 1); // only C1 was sent
/// // Creating C1 again: Directo refuses it as a duplicate (11).
/// let again = fake.client().put(&[ok], PutMode::Create).await;
/// assert!(matches!(again[0].error(), Some(ItemError::Rejected { code: Some(11), .. })));
/// # });
/// ```
///
/// The suite's per-item outcome ([`marketing_sync_core::ItemOutcome`]): `index` is the document's
/// position in the input (0-based); `key` its `code` (or `number`) attribute, as sent;
/// `result` Directo's answer when it stored the document, or why it did not:
/// [`ItemError::Rejected`] (Directo refused it: Duplicate, Update not allowed, …),
/// [`ItemError::OutcomeUnknown`] (the answer was lost or does not say: look it up before
/// sending it again), [`ItemError::Failed`] (refused before sending, or its request failed).
pub type PutOutcome = marketing_sync_core::ItemOutcome<Option<String>, PutResult, ItemError>;

/// A document ready to send: its XML and the bytes it takes in the request.
struct Ready {
    index: usize,
    key: Option<String>,
    xml: String,
    size: usize,
}

fn key_of(record: &Record) -> Option<String> {
    record
        .get("code")
        .or_else(|| record.get("number"))
        .map(str::to_string)
}

impl Target {
    /// The `xmldata` for these records, checked and shaped as [`Client::put_records`] sends
    /// them (without splitting and without the create-only mandatory fields).
    ///
    /// ```
    /// use directo_client::{Record, Target};
    /// let c = Record::new("customer").attr("code", "C1").attr("email", "a@b.ee");
    /// assert_eq!(
    ///     Target::of("customer")?.xmldata(&[c])?,
    ///     r#"<?xml version="1.0" encoding="UTF-8"?><customers><customer code="C1" email="a@b.ee"><datafields/></customer></customers>"#
    /// );
    /// # Ok::<(), directo_client::Error>(())
    /// ```
    pub fn xmldata(&self, records: &[Record]) -> Result<String> {
        let docs = records
            .iter()
            .map(|r| {
                let mut prepared = self.prepare(r, false)?;
                legal_chars(&mut prepared, false).map_err(|bad| invalid_char(r, bad))?;
                let mut xml = String::new();
                write_record(&mut xml, &prepared);
                Ok(xml)
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(envelope(self.root(), docs.iter().map(String::as_str)))
    }
}

impl Client {
    /// Creates or modifies typed documents (`Customer`, `Item`, `Receipt`, `Invoice`,
    /// `Order`, `Contact`) with [`put_records`](Self::put_records) at their [`Target`].
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, PutMode};
    /// let fake = FakeDirecto::start().await;
    /// let mut tom = Customer::new("C42");
    /// tom.name = Some(r#"Tom & "Jerry" <OÜ>"#.into());
    /// tom.email = Some("tom@example.ee".into());
    /// let outcomes = fake.client().put(&[tom.clone()], PutMode::Create).await;
    /// assert!(outcomes[0].is_ok());
    /// assert_eq!(outcomes[0].key.as_deref(), Some("C42"));
    /// assert_eq!(fake.customers()[0].name, tom.name); // escaped on the wire, intact here
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    #[must_use = "each document has its own outcome: check every one"]
    pub async fn put<T: Document>(&self, docs: &[T], mode: PutMode) -> Vec<PutOutcome> {
        self.put_with(docs, mode, &PutParams::new()).await
    }

    /// [`put`](Self::put) with component-specific transport parameters ([`PutParams`]).
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, Customer, PutMode, PutParams};
    /// let fake = FakeDirecto::start().await;
    /// let mut c = Customer::new("C1");
    /// c.email = Some("c1@example.ee".into());
    /// let params = PutParams::new().param("xd_custom", "1")?;
    /// assert!(fake.client().put_with(&[c], PutMode::Create, &params).await.iter().all(|o| o.is_ok()));
    /// assert_eq!(fake.xmlcore_requests()[0].param("xd_custom"), Some("1"));
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    #[must_use = "each document has its own outcome: check every one"]
    pub async fn put_with<T: Document>(
        &self,
        docs: &[T],
        mode: PutMode,
        params: &PutParams,
    ) -> Vec<PutOutcome> {
        let records: Vec<Record> = docs.iter().map(ToRecord::to_record).collect();
        match Target::of(T::WHAT) {
            Ok(target) => self.put_records_with(&target, &records, mode, params).await,
            Err(e) => every(records.iter().map(key_of), e),
        }
    }

    /// Sends records as `put=1&what=…&xmldata=<root>…</root>` plus the mode's transport
    /// parameters, and returns one [`PutOutcome`] per record, in input order.
    ///
    /// Each record is checked against the target first (its input schema where one is
    /// vendored: attribute names and types, child elements; mandatory fields such as a new
    /// customer's `email`); one that fails is refused alone, with the reason. The rest go
    /// in as few requests as the limits allow (19 MB of `xmldata` per request as documented,
    /// and [`max_put_documents`](crate::ClientBuilder::max_put_documents)), one after the
    /// other. Answers are matched back to the documents by `docid` where it equals a
    /// document's `code`/`number`, else by position: a stored document is `Ok`, one Directo
    /// refused [`ItemError::Rejected`], one the answer has no result for
    /// [`ItemError::OutcomeUnknown`], never a success.
    ///
    /// **Not idempotent**: Directo's answer to a repeated create can be "Duplicate" (11) or a
    /// second document (invoices without a fixed number), so a request is retried only when
    /// it provably did not reach Directo (connect failure, 429). When its answer is lost (a
    /// timeout, a cut connection), every document of that request is
    /// [`ItemError::OutcomeUnknown`]: look them up before sending them again. The reference
    /// advises waiting at least 60 s before retrying a failed put yourself.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, PutMode, Record, Target};
    /// let fake = FakeDirecto::start().await;
    /// let delivery = Record::new("delivery").attr("number", "5").attr("status", "S");
    /// let target = Target::of("delivery")?;
    /// let outcomes = fake.client().put_records(&target, &[delivery], PutMode::Create).await;
    /// assert!(outcomes[0].is_ok());
    /// let put = &fake.puts()[0];
    /// assert!(put.xmldata.contains(r#"<deliveries><delivery number="5" status="S"/></deliveries>"#));
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    #[must_use = "each document has its own outcome: check every one"]
    pub async fn put_records(
        &self,
        target: &Target,
        records: &[Record],
        mode: PutMode,
    ) -> Vec<PutOutcome> {
        self.put_records_with(target, records, mode, &PutParams::new())
            .await
    }

    /// [`put_records`](Self::put_records) with component-specific transport parameters
    /// ([`PutParams`]).
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, PutMode, PutParams, Record, Target};
    /// let fake = FakeDirecto::start().await;
    /// let d = Record::new("delivery").attr("number", "5");
    /// let params = PutParams::new().xd_confirm(true);
    /// let target = Target::of("delivery")?;
    /// assert!(fake.client().put_records_with(&target, &[d], PutMode::Create, &params).await.iter().all(|o| o.is_ok()));
    /// assert_eq!(fake.xmlcore_requests()[0].param("xd_confirm"), Some("1"));
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    #[must_use = "each document has its own outcome: check every one"]
    pub async fn put_records_with(
        &self,
        target: &Target,
        records: &[Record],
        mode: PutMode,
        params: &PutParams,
    ) -> Vec<PutOutcome> {
        let keys = || records.iter().map(key_of);
        if target.what().is_empty() {
            return every(
                keys(),
                Error::InvalidInput("`what` must not be empty".into()),
            );
        }
        if let Err(e) = mode.check(target.what()) {
            return every(keys(), e);
        }
        let limits = self.put_limits();
        let overhead = form_len(DECL) + 2 * form_len(target.root()) + form_len("<></>");
        let mut outcomes = Vec::with_capacity(records.len());
        let mut ready = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let key = key_of(record);
            match self.ready(target, record, mode) {
                Ok(xml) => {
                    let size = form_len(&xml);
                    if overhead + size > limits.bytes {
                        outcomes.push(refused(index, key, format!(
                            "the document takes {} bytes of the request, over the {}-byte xmldata limit",
                            overhead + size,
                            limits.bytes
                        )));
                    } else {
                        ready.push(Ready {
                            index,
                            key,
                            xml,
                            size,
                        });
                    }
                }
                Err(e) => outcomes.push(PutOutcome::new(
                    index,
                    key,
                    Err(ItemError::Failed(Arc::new(e))),
                )),
            }
        }
        let mut batch: Vec<Ready> = Vec::new();
        let mut batch_size = overhead;
        let mut batches = Vec::new();
        for doc in ready {
            if !batch.is_empty()
                && (batch_size + doc.size > limits.bytes || batch.len() >= limits.documents)
            {
                batches.push(std::mem::take(&mut batch));
                batch_size = overhead;
            }
            batch_size += doc.size;
            batch.push(doc);
        }
        if !batch.is_empty() {
            batches.push(batch);
        }
        // The transport parameters every request of this put carries: the mode's, then the
        // caller's.
        let sent: Vec<(&str, &str)> = mode.params().iter().copied().chain(params.iter()).collect();
        let mut refused_all: Option<Arc<Error>> = None;
        for batch in batches {
            let answer = match &refused_all {
                Some(e) => Err(e.clone()),
                None => {
                    let xml = envelope(target.root(), batch.iter().map(|d| d.xml.as_str()));
                    self.put_xml(target.what(), &sent, xml)
                        .await
                        .and_then(|body| parse_put_results(&body).map_err(unreadable))
                        .map_err(Arc::new)
                }
            };
            if let Err(e) = &answer
                && matches!(**e, Error::Unauthorized { .. })
            {
                // Every later request would be refused the same way.
                refused_all = Some(e.clone());
            }
            outcomes.extend(match_results(batch, answer));
        }
        outcomes.sort_by_key(|o| o.index);
        outcomes
    }

    /// Deletes documents by their key: `<root><record KEY="…" delete="1"/>…</root>`, as the
    /// Go client used live sends it (qbitsoftware/accounting-service `directo/payments.go`),
    /// where the target allows it ([`Target::allows_delete`]: receipts and targets without
    /// a vendored schema; not customers or items). One [`PutOutcome`] per key: Directo's
    /// answer (19 "Removal not allowed" for a confirmed document), or why it was not sent.
    /// Not idempotent in its answer (a second delete finds nothing), so never retried once
    /// sent.
    ///
    /// ```
    /// # #[cfg(feature = "fake")]
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use directo_client::{fake::FakeDirecto, PutMode, Receipt, ReceiptRow, Target};
    /// let fake = FakeDirecto::start().await;
    /// let receipt = Receipt {
    ///     number: Some(77),
    ///     rows: vec![ReceiptRow { invoice: Some(1001), ..Default::default() }],
    ///     ..Default::default()
    /// };
    /// assert!(fake.client().put(&[receipt], PutMode::Create).await.iter().all(|o| o.is_ok()));
    /// let out = fake.client().delete(&Target::of("receipt")?, &["77"]).await;
    /// assert!(out[0].is_ok());
    /// assert!(fake.records("receipt").is_empty());
    /// assert!(fake.puts()[1].xmldata.ends_with(r#"<receipts><receipt number="77" delete="1"/></receipts>"#));
    /// # Ok::<(), directo_client::Error>(()) }).unwrap();
    /// ```
    #[must_use = "each document has its own outcome: check every one"]
    pub async fn delete(&self, target: &Target, keys: &[impl AsRef<str>]) -> Vec<PutOutcome> {
        let Some(key) = target.key_attribute() else {
            return every(
                keys.iter().map(|k| Some(k.as_ref().to_string())),
                Error::InvalidInput(format!(
                    "what={}: the key attribute is unknown; send records carrying it and delete=\"1\" with put_records",
                    target.what()
                )),
            );
        };
        let records: Vec<Record> = keys
            .iter()
            .map(|k| {
                Record::new(target.record())
                    .attr(key, k.as_ref())
                    .attr("delete", "1")
            })
            .collect();
        self.put_records(target, &records, PutMode::Create).await
    }

    /// One record checked, shaped, stamped and written.
    fn ready(&self, target: &Target, record: &Record, mode: PutMode) -> Result<String> {
        let mut prepared = target.prepare(record, mode == PutMode::Create)?;
        legal_chars(&mut prepared, self.put_limits().strip_invalid_chars)
            .map_err(|bad| invalid_char(record, bad))?;
        if matches!(mode, PutMode::Update | PutMode::UpdateConfirmed) {
            sparse_update(target, &prepared, mode)?;
        }
        if mode.is_partial() {
            let extra: Vec<&str> = prepared
                .attrs
                .keys()
                .map(String::as_str)
                .filter(|k| !PARTIAL.contains(k))
                .collect();
            let rows = prepared.children.iter().any(|c| !c.children.is_empty());
            if !extra.is_empty() || rows {
                return Err(Error::InvalidInput(format!(
                    "{mode:?} changes only name, email and phone; {} would be ignored",
                    if rows {
                        "child elements".to_string()
                    } else {
                        extra.join(", ")
                    }
                )));
            }
        }
        if let Some((name, secret)) = self.record_key() {
            prepared.attrs.insert(name.to_string(), secret.to_string());
        }
        let mut xml = String::new();
        write_record(&mut xml, &prepared);
        Ok(xml)
    }
}

/// Refuses a full update that leaves out input fields of the target's schema: `xd_update=1`
/// overwrites the whole document ("post the whole document (it is overwritten)", wiki
/// `en/xml_direct/alustamine/tehnilised_nouded`), so each would be blanked. Without a
/// vendored schema the field set is unknown and nothing is checked.
fn sparse_update(target: &Target, prepared: &Record, mode: PutMode) -> Result<()> {
    let Some(schema) = target.schema() else {
        return Ok(());
    };
    let missing: Vec<&str> = schema
        .record
        .attrs
        .iter()
        .map(|a| a.name.as_str())
        .filter(|n| *n != "session_id" && !prepared.attrs.contains_key(*n))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = missing.iter().take(6).copied().collect();
    let more = match missing.len() - shown.len() {
        0 => String::new(),
        n => format!(" and {n} more"),
    };
    let partial = match target.what() {
        "customer" => "to change name, email or phone only, use PutMode::CustomerUpdate; ",
        "supplier" => "to change name, email or phone only, use PutMode::SupplierUpdate; ",
        _ => "",
    };
    Err(Error::InvalidInput(format!(
        "PutMode::{mode:?} (xd_update=1) overwrites the whole document, and this one leaves out {}{more} of {}, which Directo would blank: {partial}to overwrite them deliberately, use PutMode::Replace",
        shown.join(", "),
        schema.file
    )))
}

/// [`Error::InvalidCharacter`] for `record`.
fn invalid_char(record: &Record, (field, code_point, position): crate::xmldata::BadChar) -> Error {
    Error::InvalidCharacter {
        document: key_of(record),
        field,
        code_point,
        position,
    }
}

fn refused(index: usize, key: Option<String>, reason: String) -> PutOutcome {
    PutOutcome::new(
        index,
        key,
        Err(ItemError::Failed(Arc::new(Error::InvalidInput(reason)))),
    )
}

/// A failure before any request, given to every document (one shared error).
fn every(keys: impl Iterator<Item = Option<String>>, e: Error) -> Vec<PutOutcome> {
    let e = Arc::new(e);
    keys.enumerate()
        .map(|(index, key)| PutOutcome::new(index, key, Err(ItemError::Failed(e.clone()))))
        .collect()
}

/// An answer to a put that cannot be read as Directo's (malformed XML, another root, an
/// encoding we cannot decode): Directo may have stored the documents. Its own errors
/// (`<err>`, `<error>`, a lone failed `<result>`) say the request was refused, and stay.
fn unreadable(e: Error) -> Error {
    match e {
        Error::Api { .. } | Error::Unauthorized { .. } => e,
        other => Error::OutcomeUnknown {
            reason: format!("Directo's answer could not be read: {other}"),
        },
    }
}

/// Directo's answer for one document: stored, refused, or (a `Type` that is not a number)
/// not saying which.
fn outcome_of(result: PutResult) -> std::result::Result<PutResult, ItemError> {
    if result.is_success() {
        Ok(result)
    } else if result.status == PutStatus::Unreadable && result.error.is_none() {
        Err(ItemError::OutcomeUnknown {
            reason: format!(
                "Directo's result for it has no readable Type (Desc {:?})",
                result.desc
            ),
        })
    } else {
        Err(ItemError::Rejected {
            message: result.error.clone().unwrap_or_else(|| result.desc.clone()),
            code: result.code,
            result: Box::new(result),
        })
    }
}

/// Pairs a request's documents with its answer: by `docid` where it equals a document's key,
/// the rest by position.
fn match_results(
    batch: Vec<Ready>,
    answer: std::result::Result<Vec<PutResult>, Arc<Error>>,
) -> Vec<PutOutcome> {
    let results = match answer {
        Ok(results) => results,
        Err(e) => {
            return batch
                .into_iter()
                .map(|d| PutOutcome::new(d.index, d.key, Err(ItemError::from(e.clone()))))
                .collect();
        }
    };
    let (sent, answered) = (batch.len(), results.len());
    let mut slots: Vec<Option<PutResult>> = vec![None; sent];
    let mut unmatched = Vec::new();
    for result in results {
        let by_key = result.docid.as_deref().and_then(|docid| {
            (0..sent).find(|&i| slots[i].is_none() && batch[i].key.as_deref() == Some(docid))
        });
        match by_key {
            Some(i) => slots[i] = Some(result),
            None => unmatched.push(result),
        }
    }
    let mut unmatched = unmatched.into_iter();
    for slot in slots.iter_mut().filter(|s| s.is_none()) {
        *slot = unmatched.next();
    }
    batch
        .into_iter()
        .zip(slots)
        .map(|(d, slot)| {
            let result = match slot {
                Some(result) => outcome_of(result),
                None => Err(ItemError::OutcomeUnknown {
                    reason: format!(
                        "Directo answered {answered} result(s) for {sent} document(s); none for this one"
                    ),
                }),
            };
            PutOutcome::new(d.index, d.key, result)
        })
        .collect()
}

/// How puts are split (see [`ClientBuilder`](crate::ClientBuilder)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PutLimits {
    /// Form-encoded `xmldata` bytes per request.
    pub(crate) bytes: usize,
    /// Documents per request.
    pub(crate) documents: usize,
    /// Strip characters XML 1.0 forbids instead of refusing the document.
    pub(crate) strip_invalid_chars: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(keys: &[Option<&str>]) -> Vec<Ready> {
        keys.iter()
            .enumerate()
            .map(|(index, k)| Ready {
                index,
                key: k.map(str::to_string),
                xml: String::new(),
                size: 0,
            })
            .collect()
    }

    fn result(docid: Option<&str>, code: i32) -> PutResult {
        PutResult {
            code: Some(code),
            status: PutStatus::from_code(code),
            desc: String::new(),
            error: None,
            docid: docid.map(str::to_string),
            doctype: None,
            submit: None,
        }
    }

    #[test]
    fn results_match_by_docid_then_by_position() {
        // Answered out of order, one with a docid Directo assigned (no key to match).
        let out = match_results(
            ready(&[Some("A"), Some("B"), None]),
            Ok(vec![
                result(Some("B"), 11),
                result(Some("900"), 0),
                result(Some("A"), 0),
            ]),
        );
        let codes: Vec<_> = out
            .iter()
            .map(|o| match &o.result {
                Ok(r) => r.code,
                Err(ItemError::Rejected { code, .. }) => *code,
                Err(e) => panic!("{e}"),
            })
            .collect();
        assert_eq!(codes, [Some(0), Some(11), Some(0)]);
        // A refusal is an `Err`, never an `Ok` to inspect.
        assert!(
            matches!(&out[1].result, Err(ItemError::Rejected { message, code: Some(11), .. }) if message.is_empty())
        );
        assert_eq!(
            out[2].result.as_ref().unwrap().docid.as_deref(),
            Some("900")
        );
    }

    #[test]
    fn documents_without_a_result_are_errors_never_successes() {
        let out = match_results(
            ready(&[Some("A"), Some("B")]),
            Ok(vec![result(Some("B"), 0)]),
        );
        assert!(out[1].is_ok());
        let err = out[0].result.as_ref().unwrap_err();
        assert!(err.is_outcome_unknown() && !err.is_retryable(), "{err:?}");
        assert_eq!(
            err.to_string(),
            "outcome unknown: Directo answered 1 result(s) for 2 document(s); none for this one"
        );
        let out = match_results(ready(&[Some("A")]), Ok(vec![]));
        assert!(out[0].error().is_some_and(ItemError::is_outcome_unknown));
    }

    #[test]
    fn transport_parameters_per_mode() {
        assert_eq!(PutMode::Update.params(), [("xd_update", "1")]);
        assert!(PutMode::UpdateConfirmed.check("invoice").is_ok());
        assert!(PutMode::UpdateConfirmed.check("customer").is_err());
        assert!(PutMode::CustomerUpdate.check("customer").is_ok());
        assert!(PutMode::CustomerUpdate.check("supplier").is_err());
        assert!(PutMode::SupplierUpdate.check("supplier").is_ok());
    }
}
