//! Datahub contacts files: the `;`-separated CSV that Splio's automatic import picks up from
//! `/imports/` (upload them with [`crate::sftp::SftpUploader`], feature `sftp`).
//!
//! Rules followed: UTF-8 without BOM, `;` separator, a header row with the exact (case-sensitive)
//! column names, values quoted only when they hold `;` or `"` (quotes doubled), no multi-line
//! rows (rejected, or flattened to spaces when asked), emails lowercased, at most 200,000 lines per
//! file (header included; larger sets are split).
//!
//! Rows are grouped into files by the set of columns they give values for, so a file never
//! has an empty cell for a field its row did not set (whether Splio's importer reads an empty
//! cell as "clear" is undocumented). An empty value counts as no value unless
//! [`EmptyValues::Clear`] asks for an empty cell: clearing is a choice, never a side effect.
//! A contact that cannot be written (no key, a line break, a value for a column the writer's
//! [`columns`](ContactCsvWriter::columns) do not list) is refused on its own
//! ([`DatahubWrite::refused`]); the others are written.
//!
//! Choices where Splio's documentation is silent (all settings): the file name (default
//! [`DEFAULT_FILE_NAME`], `{universe}_contacts_{subsequence}_{YYYYMMDD}_{unique}.csv`; the one
//! public client builds [`WAMIZ_FILE_NAME`] instead); `dateOfCreation` is written as `YYYYMMDD`
//! (the only format seen in public code); `subscriptions` as `+id` / `-id`, comma separated;
//! custom columns are named by the caller (`c<id>` or the field name, whichever the universe's
//! import is configured for). When the universe is keyed by a custom field, make that column the
//! [`key`](ContactCsvWriter::key) (e.g. `Column::custom("customer_key")`). The first column is
//! the contact key, read as the REST path reads it ([`ContactData::key_for`](crate::ContactData::key_for)):
//! trimmed, an email lowercased; a missing, empty or multi-line key is refused. Files are built
//! in memory (one file holds at most 200,000 lines, a few tens of MB).
//!
//! ```
//! use splio_client::datahub::{Column, ContactCsvWriter, DatahubContact, Subscription};
//! let writer = ContactCsvWriter::new("myuniverse", "PRCL")?
//!     .columns(vec![Column::Email, Column::Firstname, Column::Subscriptions, Column::custom("c3")]);
//! let mut jane = DatahubContact::new("Jane@Example.com");
//! jane.firstname = Some("Jane; \"JJ\"".into());
//! jane.subscriptions = vec![Subscription::Subscribe(1), Subscription::Unsubscribe(2)];
//! jane.custom.insert("c3".into(), "gold".into());
//! let out = writer.write(&[jane, DatahubContact::new("joe@example.com")])?;
//! assert!(out.refused.is_empty());
//! assert_eq!(
//!     String::from_utf8(out.files[0].contents.clone()).unwrap(),
//!     "email;firstname;subscriptions;c3\njane@example.com;\"Jane; \"\"JJ\"\"\";+1,-2;gold\n"
//! );
//! // Joe sets nothing but his key: his own file, no empty cells.
//! assert_eq!(out.files[1].contents, b"email\njoe@example.com\n");
//! assert!(out.files[0].name.starts_with("myuniverse_contacts_PRCL_"));
//! # Ok::<(), splio_client::Error>(())
//! ```

use indexmap::IndexMap;
use jiff::Timestamp;
use jiff::civil::Date;

use crate::error::{Error, Result};

/// Most lines (header included) Splio accepts in one file.
pub const MAX_LINES_PER_FILE: usize = 200_000;

/// A column of a contacts file.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    /// `email` (lowercased on write).
    Email,
    /// `firstname`.
    Firstname,
    /// `lastname`.
    Lastname,
    /// `cellphone`.
    Cellphone,
    /// `language`.
    Language,
    /// `dateOfCreation`.
    DateOfCreation,
    /// `subscriptions` (`+id` subscribe, `-id` unsubscribe, comma separated).
    Subscriptions,
    /// A custom column, e.g. `c3`, a field name, or `customer_key`.
    Custom(String),
}

impl Column {
    /// A custom column.
    pub fn custom(name: impl Into<String>) -> Self {
        Column::Custom(name.into())
    }

    /// The exact header name.
    pub fn header(&self) -> &str {
        match self {
            Column::Email => "email",
            Column::Firstname => "firstname",
            Column::Lastname => "lastname",
            Column::Cellphone => "cellphone",
            Column::Language => "language",
            Column::DateOfCreation => "dateOfCreation",
            Column::Subscriptions => "subscriptions",
            Column::Custom(name) => name,
        }
    }

    /// The standard columns, in Splio's documented order.
    pub fn standard() -> Vec<Column> {
        vec![
            Column::Email,
            Column::Firstname,
            Column::Lastname,
            Column::Cellphone,
            Column::Language,
            Column::DateOfCreation,
            Column::Subscriptions,
        ]
    }
}

/// A list membership change in the `subscriptions` column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Subscription {
    /// `+id`.
    Subscribe(u64),
    /// `-id`.
    Unsubscribe(u64),
}

/// One contact row.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DatahubContact {
    /// Email (lowercased on write).
    pub email: Option<String>,
    /// First name.
    pub firstname: Option<String>,
    /// Last name.
    pub lastname: Option<String>,
    /// Cellphone.
    pub cellphone: Option<String>,
    /// Two-letter language.
    pub language: Option<String>,
    /// Creation date.
    pub date_of_creation: Option<Date>,
    /// List membership changes.
    pub subscriptions: Vec<Subscription>,
    /// Custom column values by header name (with fixed [`columns`](ContactCsvWriter::columns),
    /// a name they do not list refuses the contact).
    pub custom: IndexMap<String, String>,
}

impl DatahubContact {
    /// A row with this email.
    pub fn new(email: impl Into<String>) -> Self {
        DatahubContact {
            email: Some(email.into()),
            ..Self::default()
        }
    }
}

/// A REST contact as a Datahub row: the same attributes, `lists` as `+id` subscriptions,
/// custom fields as columns (`c<id>` for a field addressed by id, its name otherwise; values
/// as sent over REST). A cleared custom field is an empty value, which the writer writes as a
/// clear only when asked ([`EmptyValues::Clear`]). Refused, naming the field, when the row
/// cannot hold something: `tracking_consent` and `double_optin` (no Datahub column), a
/// `creation_date` with a time of day (`dateOfCreation` is a date).
///
/// ```
/// use splio_client::{ContactData, datahub::{DatahubContact, Subscription}};
/// let row = DatahubContact::try_from(ContactData::with_email("ann@example.com").firstname("Ann").list(7))?;
/// assert_eq!(row.firstname.as_deref(), Some("Ann"));
/// assert_eq!(row.subscriptions, [Subscription::Subscribe(7)]);
/// # Ok::<(), splio_client::Error>(())
/// ```
impl TryFrom<&crate::ContactData> for DatahubContact {
    type Error = Error;

    fn try_from(c: &crate::ContactData) -> Result<Self> {
        let refuse = |field: &str, reason: &str| {
            Err(Error::invalid(
                "a contact converted to a Datahub row",
                field,
                reason,
            ))
        };
        if !c.tracking_consent.is_empty() {
            return refuse(
                "tracking_consent",
                "a Datahub contacts file has no consent column: send it over REST",
            );
        }
        if c.double_optin.is_some() {
            return refuse(
                "double_optin",
                "a Datahub contacts file has no double opt-in column: send it over REST",
            );
        }
        let date_of_creation = match c.creation_date {
            Some(d) if d.time() != jiff::civil::Time::midnight() => {
                return refuse(
                    "creation_date",
                    "dateOfCreation is a date: this one has a time of day, which the file would drop",
                );
            }
            d => d.map(|d| d.date()),
        };
        let custom = c
            .custom_fields
            .iter()
            .map(|f| {
                let column = match &f.field {
                    crate::FieldRef::Id(id) => format!("c{id}"),
                    crate::FieldRef::Name(name) => name.clone(),
                };
                let value = f
                    .value
                    .as_ref()
                    .map(crate::FieldValue::to_wire)
                    .unwrap_or_default();
                (column, value)
            })
            .collect();
        Ok(DatahubContact {
            email: c.email.clone(),
            firstname: c.firstname.clone(),
            lastname: c.lastname.clone(),
            cellphone: c.cellphone.clone(),
            language: c.language.clone(),
            date_of_creation,
            subscriptions: c
                .lists
                .iter()
                .copied()
                .map(Subscription::Subscribe)
                .collect(),
            custom,
        })
    }
}

/// See the conversion from `&ContactData`.
impl TryFrom<crate::ContactData> for DatahubContact {
    type Error = Error;

    fn try_from(c: crate::ContactData) -> Result<Self> {
        DatahubContact::try_from(&c)
    }
}

/// A Datahub row as a REST contact: the same attributes, `dateOfCreation` at midnight,
/// `+id` subscriptions as `lists`, `c<id>` columns as custom field ids and the other columns
/// as field names, values as text (the file has no types). An empty value is left out: in a
/// row it means "leave what Splio holds" (the writer's default), so it never becomes a clear.
/// Refused, naming the field, for an unsubscription (`-id`), which a REST contact write cannot
/// express (use [`Client::unsubscribe`](crate::Client::unsubscribe)).
///
/// ```
/// use splio_client::{ContactData, datahub::{DatahubContact, Subscription}};
/// let mut row = DatahubContact::new("ann@example.com");
/// row.custom.insert("c3".into(), "gold".into());
/// let data = ContactData::try_from(&row)?;
/// assert_eq!(data, ContactData::with_email("ann@example.com").custom_field(splio_client::CustomFieldValue::by_id(3, "gold")));
/// row.subscriptions.push(Subscription::Unsubscribe(2));
/// assert!(ContactData::try_from(&row).is_err());
/// # Ok::<(), splio_client::Error>(())
/// ```
impl TryFrom<&DatahubContact> for crate::ContactData {
    type Error = Error;

    fn try_from(row: &DatahubContact) -> Result<Self> {
        let mut lists = Vec::new();
        for s in &row.subscriptions {
            match s {
                Subscription::Subscribe(id) => lists.push(*id),
                Subscription::Unsubscribe(id) => {
                    return Err(Error::invalid(
                        "a Datahub row converted to a contact",
                        "subscriptions",
                        format!(
                            "-{id} (an unsubscription) has no place in a contact write: use Client::unsubscribe"
                        ),
                    ));
                }
            }
        }
        let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
        let custom_fields = row
            .custom
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(column, value)| {
                let id = column
                    .strip_prefix('c')
                    .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                    .and_then(|n| n.parse::<u32>().ok());
                let field = match id {
                    Some(id) => crate::FieldRef::Id(id),
                    None => crate::FieldRef::Name(column.clone()),
                };
                crate::CustomFieldValue {
                    field,
                    value: Some(crate::FieldValue::Text(value.clone())),
                }
            })
            .collect();
        Ok(crate::ContactData {
            email: given(&row.email),
            cellphone: given(&row.cellphone),
            firstname: given(&row.firstname),
            lastname: given(&row.lastname),
            language: given(&row.language),
            creation_date: row.date_of_creation.map(|d| d.at(0, 0, 0, 0)),
            custom_fields,
            lists,
            ..crate::ContactData::default()
        })
    }
}

/// See the conversion from `&DatahubContact`.
impl TryFrom<DatahubContact> for crate::ContactData {
    type Error = Error;

    fn try_from(row: DatahubContact) -> Result<Self> {
        crate::ContactData::try_from(&row)
    }
}

/// What to do with a line break inside a value (the importer rejects multi-line rows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineBreaks {
    /// Refuse the contact with [`Error::InvalidInput`] naming the row and column (default).
    #[default]
    Reject,
    /// Replace each run of `\r`/`\n` with one space.
    Flatten,
}

/// What to do with an empty value (`Some("")`, or an empty custom value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EmptyValues {
    /// Treat it as no value: the row's file lacks that column, so Splio keeps what it holds
    /// (default).
    #[default]
    Leave,
    /// Write an empty cell. Splio's documentation does not say whether the importer reads an
    /// empty cell as "clear this field"; choose this only to ask for a clear.
    Clear,
}

/// What [`ContactCsvWriter::write`] made: the files, and the contacts it could not write.
#[derive(Debug)]
pub struct DatahubWrite {
    /// The files, each with rows that carry the same columns.
    pub files: Vec<DatahubFile>,
    /// The contacts not written, in input order, each with why.
    pub refused: Vec<RefusedContact>,
}

/// A contact the writer refused ([`Error::InvalidInput`] naming the row and column).
#[derive(Debug)]
pub struct RefusedContact {
    /// Its position in the input.
    pub index: usize,
    /// Its key as the file would hold it (empty when it has none).
    pub key: String,
    /// Why.
    pub error: Error,
}

/// One generated file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatahubFile {
    /// File name, per the writer's pattern (default [`DEFAULT_FILE_NAME`]).
    pub name: String,
    /// UTF-8 contents without BOM.
    pub contents: Vec<u8>,
    /// Data rows (header excluded).
    pub rows: usize,
    /// The positions in the input of the contacts in this file, in row order.
    pub contacts: Vec<usize>,
}

/// The default file-name pattern: universe, scope, sub-sequence, date, a unique part, `.csv`,
/// as shared/api/splio.md reads the Datahub rule ("Filenames must indicate the universe, …").
pub const DEFAULT_FILE_NAME: &str = "{universe}_contacts_{subsequence}_{date}_{unique}.csv";

/// The pattern wamiz/splio-sdk's `DataImport::buildFilename` builds: no `_` between the
/// sub-sequence and the date, and no extension.
pub const WAMIZ_FILE_NAME: &str = "{universe}_contacts_{subsequence}{date}_{unique}";

/// Writes contacts files for one universe and sub-sequence.
#[derive(Clone, Debug)]
pub struct ContactCsvWriter {
    universe: String,
    subsequence: String,
    key: Column,
    columns: Option<Vec<Column>>,
    max_lines: usize,
    line_breaks: LineBreaks,
    empty_values: EmptyValues,
    date_format: String,
    file_name: FileNamePattern,
}

/// Universe names are Splio's (they may hold `_`); a sub-sequence goes between `_` separators.
fn check_name_part(what: &str, value: &str, extra: &[char]) -> Result<()> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.' || extra.contains(&c));
    if !ok {
        let allowed = if extra.is_empty() { "" } else { ", '_'" };
        return Err(Error::invalid(
            "datahub file name",
            what,
            format!("{value:?} must be non-empty ASCII letters, digits, '-', '.'{allowed}"),
        ));
    }
    Ok(())
}

/// A file-name pattern's placeholders.
const PLACEHOLDERS: [&str; 4] = ["{universe}", "{subsequence}", "{date}", "{unique}"];

/// A Datahub file-name pattern, checked where it is made: `{universe}` and `{unique}` (each
/// file needs its own name), optionally `{subsequence}` and `{date}` (`YYYYMMDD`, UTC), and
/// otherwise a plain file name.
///
/// ```
/// use splio_client::datahub::{FileNamePattern, WAMIZ_FILE_NAME};
/// assert!(FileNamePattern::new(WAMIZ_FILE_NAME).is_ok());
/// assert!(FileNamePattern::new("{universe}-{date}-{unique}.txt").is_ok());
/// assert!(FileNamePattern::new("{universe}_{date}.csv").is_err()); // no {unique}
/// assert!(FileNamePattern::new("{universe}/{unique}").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileNamePattern(String);

impl FileNamePattern {
    /// Checks a pattern.
    pub fn new(pattern: impl Into<String>) -> Result<Self> {
        let pattern = pattern.into();
        check_file_name(&pattern)?;
        Ok(FileNamePattern(pattern))
    }

    /// The pattern as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for FileNamePattern {
    /// [`DEFAULT_FILE_NAME`].
    fn default() -> Self {
        FileNamePattern(DEFAULT_FILE_NAME.into())
    }
}

fn check_file_name(pattern: &str) -> Result<()> {
    let fail = |why: &str| Err(Error::invalid("datahub file name", pattern, why));
    let mut rest = pattern.to_owned();
    for p in PLACEHOLDERS {
        rest = rest.replace(p, "");
    }
    if !pattern.contains("{unique}") || !pattern.contains("{universe}") {
        return fail("must hold {universe} and {unique} (each file needs its own name)");
    }
    if rest.contains(['{', '}']) {
        return fail("knows only {universe}, {subsequence}, {date} and {unique}");
    }
    if pattern.starts_with('.')
        || rest
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
    {
        return fail("must be a plain file name (no '/', spaces or leading '.')");
    }
    Ok(())
}

fn check_columns(columns: &[Column]) -> Result<()> {
    if columns.is_empty() {
        return Err(Error::invalid("datahub file", "columns", "no columns"));
    }
    let mut seen = std::collections::HashSet::new();
    for c in columns {
        let h = c.header();
        if let Column::Custom(name) = c {
            let clash = Column::standard().iter().any(|s| s.header() == name);
            if name.is_empty() || clash || name.contains([';', '"', '\n', '\r']) {
                return Err(Error::invalid(
                    "datahub file",
                    format!("column {name:?}"),
                    "custom column names must be non-empty, not a standard column, without ; \" or line breaks",
                ));
            }
        }
        if !seen.insert(h.to_string()) {
            return Err(Error::invalid("datahub file", h, "column listed twice"));
        }
    }
    Ok(())
}

impl ContactCsvWriter {
    /// A writer for `universe` and the import sub-sequence configured for it (e.g. `PRCL`),
    /// keyed by `email`, with the columns each file's rows give values for.
    pub fn new(universe: impl Into<String>, subsequence: impl Into<String>) -> Result<Self> {
        let (universe, subsequence) = (universe.into(), subsequence.into());
        check_name_part("universe", &universe, &['_'])?;
        check_name_part("subsequence", &subsequence, &[])?;
        Ok(ContactCsvWriter {
            universe,
            subsequence,
            key: Column::Email,
            columns: None,
            max_lines: MAX_LINES_PER_FILE,
            line_breaks: LineBreaks::Reject,
            empty_values: EmptyValues::Leave,
            date_format: "%Y%m%d".into(),
            file_name: FileNamePattern::default(),
        })
    }

    /// The key column, first in every file (default [`Column::Email`]; a custom column such as
    /// `customer_key` when the universe is keyed by a custom field).
    pub fn key(mut self, key: Column) -> Self {
        self.key = key;
        self
    }

    /// The columns files may have, in order, the first being the [`key`](Self::key) (an unknown
    /// column makes Splio skip the whole file). Each file still has only the columns its rows
    /// give values for, in this order; a contact with a value for a column not listed is
    /// refused. Without it: the key, the standard columns in Splio's order, then custom
    /// columns first seen first.
    pub fn columns(mut self, columns: Vec<Column>) -> Self {
        self.columns = Some(columns);
        self
    }

    /// The file-name pattern (default [`DEFAULT_FILE_NAME`]; see [`FileNamePattern`]). Ask
    /// Splio which form your universe's import expects.
    pub fn file_name(mut self, pattern: FileNamePattern) -> Self {
        self.file_name = pattern;
        self
    }

    /// Lines per file, header included (default and maximum 200,000; at least 2).
    pub fn max_lines(mut self, n: usize) -> Self {
        self.max_lines = n.clamp(2, MAX_LINES_PER_FILE);
        self
    }

    /// Line-break policy (default [`LineBreaks::Reject`]).
    pub fn line_breaks(mut self, policy: LineBreaks) -> Self {
        self.line_breaks = policy;
        self
    }

    /// Empty-value policy (default [`EmptyValues::Leave`]: an empty value is no value).
    pub fn empty_values(mut self, policy: EmptyValues) -> Self {
        self.empty_values = policy;
        self
    }

    /// `strftime` format of `dateOfCreation` (default `%Y%m%d`).
    pub fn date_format(mut self, format: impl Into<String>) -> Self {
        self.date_format = format.into();
        self
    }

    /// Write `contacts` into as many files as needed, named with today's UTC date. Each file
    /// holds rows that carry the same fields (see the [module docs](self)); a contact that
    /// cannot be written is listed in [`DatahubWrite::refused`] and the others are written.
    /// `Err` only for a writer-level problem (e.g. a bad [`columns`](Self::columns) list).
    pub fn write(&self, contacts: &[DatahubContact]) -> Result<DatahubWrite> {
        self.write_at(contacts, Timestamp::now())
    }

    /// Like [`write`](Self::write), with an explicit timestamp for the names (date and unique part).
    ///
    /// ```
    /// use splio_client::datahub::{ContactCsvWriter, DatahubContact};
    /// let mut ann = DatahubContact::new("ann@example.com");
    /// ann.firstname = Some("Ann".into());
    /// let mut bad = DatahubContact::new("bob@example.com");
    /// bad.lastname = Some("two\nlines".into());
    /// let out = ContactCsvWriter::new("u", "PRCL")?
    ///     .write_at(&[ann, bad], "2024-03-05T10:00:00Z".parse().unwrap())?;
    /// assert_eq!(out.files.len(), 1);
    /// assert_eq!(out.files[0].contacts, vec![0]);
    /// assert_eq!((out.refused[0].index, out.refused[0].key.as_str()), (1, "bob@example.com"));
    /// # Ok::<(), splio_client::Error>(())
    /// ```
    pub fn write_at(&self, contacts: &[DatahubContact], at: Timestamp) -> Result<DatahubWrite> {
        let allowed = match &self.columns {
            Some(columns) => {
                check_columns(columns)?;
                if columns[0] != self.key {
                    return Err(Error::invalid(
                        "datahub file",
                        columns[0].header(),
                        format!(
                            "the first listed column must be the key column {:?} (set it with ContactCsvWriter::key)",
                            self.key.header()
                        ),
                    ));
                }
                columns.clone()
            }
            None => self.columns_of(contacts),
        };
        check_columns(&allowed)?;
        let mut refused = Vec::new();
        // Rows by the set of columns they carry (positions in `allowed`), first seen first.
        let mut groups: IndexMap<Vec<usize>, Vec<(usize, Vec<String>)>> = IndexMap::new();
        for (index, contact) in contacts.iter().enumerate() {
            match self.row(&allowed, contact, index) {
                Ok((carried, values)) => groups.entry(carried).or_default().push((index, values)),
                Err((key, error)) => refused.push(RefusedContact { index, key, error }),
            }
        }
        let day = at
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y%m%d")
            .to_string();
        let unique = format!("{:x}", at.as_microsecond());
        let per_file = self.max_lines - 1;
        let mut files = Vec::new();
        for (carried, rows) in &groups {
            let columns: Vec<&Column> = carried.iter().map(|&i| &allowed[i]).collect();
            for chunk in rows.chunks(per_file) {
                let part = files.len();
                let name = self
                    .file_name
                    .0
                    .replace("{universe}", &self.universe)
                    .replace("{subsequence}", &self.subsequence)
                    .replace("{date}", &day)
                    .replace("{unique}", &format!("{unique}{part:03}"));
                files.push(DatahubFile {
                    name,
                    contents: csv_file(&columns, chunk)?,
                    rows: chunk.len(),
                    contacts: chunk.iter().map(|(i, _)| *i).collect(),
                });
            }
        }
        Ok(DatahubWrite { files, refused })
    }

    /// The key, then every standard column (in Splio's order) and custom column (first seen
    /// first) that at least one row gives a value for.
    fn columns_of(&self, rows: &[DatahubContact]) -> Vec<Column> {
        let mut columns = vec![self.key.clone()];
        for standard in Column::standard() {
            if standard != self.key && rows.iter().any(|c| self.raw(c, &standard).is_some()) {
                columns.push(standard);
            }
        }
        for row in rows {
            for name in row.custom.keys() {
                let column = Column::custom(name.as_str());
                if !columns.contains(&column) {
                    columns.push(column);
                }
            }
        }
        columns
    }

    /// The value a row gives `col`, `None` when it gives none (an empty value counts as none
    /// unless [`EmptyValues::Clear`]).
    fn raw(&self, c: &DatahubContact, col: &Column) -> Option<String> {
        let value = match col {
            Column::Email => c.email.clone(),
            Column::Firstname => c.firstname.clone(),
            Column::Lastname => c.lastname.clone(),
            Column::Cellphone => c.cellphone.clone(),
            Column::Language => c.language.clone(),
            Column::DateOfCreation => c
                .date_of_creation
                .map(|d| d.strftime(&self.date_format).to_string()),
            Column::Subscriptions => (!c.subscriptions.is_empty()).then(|| {
                c.subscriptions
                    .iter()
                    .map(|s| match s {
                        Subscription::Subscribe(id) => format!("+{id}"),
                        Subscription::Unsubscribe(id) => format!("-{id}"),
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            }),
            Column::Custom(name) => c.custom.get(name).cloned(),
        };
        value.filter(|v| self.empty_values == EmptyValues::Clear || !v.is_empty())
    }

    /// The contact key as the REST path reads it ([`ContactData::key_for`](crate::ContactData::key_for)):
    /// trimmed, an email lowercased; missing, empty or multi-line is refused.
    fn key_of(
        &self,
        c: &DatahubContact,
        index: usize,
    ) -> std::result::Result<String, (String, Error)> {
        let raw = match &self.key {
            Column::Email => c.email.clone(),
            other => self.raw(c, other),
        };
        let key = raw.map(|k| k.trim().to_owned()).unwrap_or_default();
        let key = if self.key == Column::Email {
            key.to_lowercase()
        } else {
            key
        };
        let record = format!("row {index}");
        if key.is_empty() {
            return Err((
                key,
                Error::invalid(
                    record,
                    self.key.header(),
                    "the universe unique key is missing or empty",
                ),
            ));
        }
        if key.contains(['\n', '\r']) {
            return Err((
                key.replace(['\n', '\r'], " "),
                Error::invalid(
                    record,
                    self.key.header(),
                    "the contact key contains a line break",
                ),
            ));
        }
        Ok(key)
    }

    /// The columns a contact carries (positions in `allowed`) and their values, or why it is
    /// refused (with its key as far as known).
    #[allow(clippy::type_complexity)]
    fn row(
        &self,
        allowed: &[Column],
        c: &DatahubContact,
        index: usize,
    ) -> std::result::Result<(Vec<usize>, Vec<String>), (String, Error)> {
        let key = self.key_of(c, index)?;
        let record = || format!("row {index} ({key})");
        let refuse = |col: &str, why: &str| (key.clone(), Error::invalid(record(), col, why));
        // A value for a column the file may not have is refused, never dropped silently.
        for col in Column::standard()
            .into_iter()
            .chain(c.custom.keys().map(|n| Column::custom(n.as_str())))
        {
            if col != self.key && !allowed.contains(&col) && self.raw(c, &col).is_some() {
                return Err(refuse(
                    col.header(),
                    "a value for a column the writer's columns do not list",
                ));
            }
        }
        let mut carried = vec![0];
        let mut values = vec![key.clone()];
        for (i, col) in allowed.iter().enumerate().skip(1) {
            let Some(raw) = self.raw(c, col) else {
                continue;
            };
            let value = self
                .single_line(raw, col, &record)
                .map_err(|e| (key.clone(), e))?;
            carried.push(i);
            values.push(value);
        }
        Ok((carried, values))
    }

    fn single_line(
        &self,
        value: String,
        col: &Column,
        record: &dyn Fn() -> String,
    ) -> Result<String> {
        if !value.contains(['\n', '\r']) {
            return Ok(value);
        }
        match self.line_breaks {
            LineBreaks::Reject => Err(Error::invalid(
                record(),
                col.header(),
                "value contains a line break; the importer rejects multi-line rows (use LineBreaks::Flatten to replace them with spaces)",
            )),
            LineBreaks::Flatten => Ok(value
                .split(['\n', '\r'])
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ")),
        }
    }
}

/// One `;`-separated file: the header, then the rows.
fn csv_file(columns: &[&Column], rows: &[(usize, Vec<String>)]) -> Result<Vec<u8>> {
    let csv_err = |e: csv::Error| Error::invalid("datahub file", "csv", e.to_string());
    let mut out = csv::WriterBuilder::new()
        .delimiter(b';')
        .quote_style(csv::QuoteStyle::Necessary)
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    out.write_record(columns.iter().map(|c| c.header()))
        .map_err(csv_err)?;
    for (_, values) in rows {
        out.write_record(values).map_err(csv_err)?;
    }
    out.into_inner()
        .map_err(|e| Error::invalid("datahub file", "csv", e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contact_data_converts_to_a_row_and_back() {
        use crate::{ContactData, CustomFieldValue, FieldRef, FieldValue};
        let data = ContactData::with_email("Ann@Example.com")
            .firstname("Ann")
            .lastname("Doe")
            .cellphone("+33611223344")
            .language("fr")
            .creation_date(jiff::civil::date(2024, 1, 2).at(0, 0, 0, 0))
            .custom_field(CustomFieldValue::by_id(3, "gold"))
            .custom_field(CustomFieldValue::by_name("shoe size", 42))
            .list(7);
        let row = DatahubContact::try_from(&data).unwrap();
        let mut expected = DatahubContact::new("Ann@Example.com");
        expected.firstname = Some("Ann".into());
        expected.lastname = Some("Doe".into());
        expected.cellphone = Some("+33611223344".into());
        expected.language = Some("fr".into());
        expected.date_of_creation = Some(jiff::civil::date(2024, 1, 2));
        expected.subscriptions = vec![Subscription::Subscribe(7)];
        expected.custom.insert("c3".into(), "gold".into());
        expected.custom.insert("shoe size".into(), "42".into());
        assert_eq!(row, expected);
        // And back: `c<id>` columns are field ids, the others field names; the file has no
        // types, so values come back as text.
        let back = ContactData::try_from(&row).unwrap();
        let expected = ContactData {
            custom_fields: vec![
                CustomFieldValue::by_id(3, "gold"),
                CustomFieldValue {
                    field: FieldRef::Name("shoe size".into()),
                    value: Some(FieldValue::Text("42".into())),
                },
            ],
            ..data
        };
        assert_eq!(back, expected);
        // An empty value in a row means "leave it" (the writer's default): never a clear.
        let mut sparse = DatahubContact::new("b@x.com");
        sparse.firstname = Some(String::new());
        sparse.custom.insert("c4".into(), String::new());
        assert_eq!(
            ContactData::try_from(sparse).unwrap(),
            ContactData::with_email("b@x.com")
        );
    }

    #[test]
    fn what_the_other_side_cannot_hold_is_refused_naming_the_field() {
        use crate::{ContactData, TrackingConsent};
        let field = |e: Error| match e {
            Error::InvalidInput { field, reason, .. } => {
                assert!(!reason.contains("ContactData"), "{reason}");
                field
            }
            other => panic!("{other:?}"),
        };
        let consent =
            ContactData::with_email("a@x.com").tracking_consent(TrackingConsent::email_open(true));
        assert_eq!(
            field(DatahubContact::try_from(&consent).unwrap_err()),
            "tracking_consent"
        );
        let mut optin = ContactData::with_email("a@x.com");
        optin.double_optin = Some(serde_json::json!({"enabled": true}));
        assert_eq!(
            field(DatahubContact::try_from(optin).unwrap_err()),
            "double_optin"
        );
        let timed = ContactData::with_email("a@x.com")
            .creation_date(jiff::civil::date(2024, 1, 2).at(3, 4, 5, 0));
        assert_eq!(
            field(DatahubContact::try_from(&timed).unwrap_err()),
            "creation_date"
        );
        let mut leaving = DatahubContact::new("a@x.com");
        leaving.subscriptions = vec![Subscription::Subscribe(1), Subscription::Unsubscribe(2)];
        let e = ContactData::try_from(&leaving).unwrap_err();
        assert!(e.to_string().contains("-2"), "{e}");
        assert_eq!(field(e), "subscriptions");
    }

    fn text(f: &DatahubFile) -> &str {
        std::str::from_utf8(&f.contents).unwrap()
    }

    fn texts(w: &DatahubWrite) -> Vec<&str> {
        w.files.iter().map(text).collect()
    }

    #[test]
    fn splits_and_names() {
        let w = ContactCsvWriter::new("uni", "PRCL").unwrap().max_lines(3);
        let rows: Vec<_> = (0..5)
            .map(|i| DatahubContact::new(format!("U{i}@X.com")))
            .collect();
        let at: Timestamp = "2024-03-05T10:00:00Z".parse().unwrap();
        let files = w.write_at(&rows, at).unwrap().files;
        assert_eq!(
            files.iter().map(|f| f.rows).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
        assert!(files[0].name.starts_with("uni_contacts_PRCL_20240305_"));
        assert!(files.iter().all(|f| f.name.ends_with(".csv")));
        let names: std::collections::HashSet<_> = files.iter().map(|f| &f.name).collect();
        assert_eq!(names.len(), 3);
        assert_eq!(text(&files[2]), "email\nu4@x.com\n");
        assert_eq!(files[2].contacts, vec![4]);
        assert!(!files[0].contents.starts_with(b"\xEF\xBB\xBF"));
    }

    #[test]
    fn line_breaks_refuse_the_contact_or_are_flattened() {
        let mut c = DatahubContact::new("a@b.c");
        c.lastname = Some("two\r\nlines".into());
        let w = ContactCsvWriter::new("u", "S").unwrap();
        let out = w.write(std::slice::from_ref(&c)).unwrap();
        assert!(out.files.is_empty());
        assert_eq!(out.refused[0].key, "a@b.c");
        assert!(
            out.refused[0].error.to_string().contains("lastname"),
            "{}",
            out.refused[0].error
        );
        let out = w.line_breaks(LineBreaks::Flatten).write(&[c]).unwrap();
        assert_eq!(texts(&out), ["email;lastname\na@b.c;two lines\n"]);
    }

    #[test]
    fn one_bad_contact_is_refused_and_the_others_written() {
        let mut broken = DatahubContact::new("broken@x.com");
        broken.firstname = Some("a\nb".into());
        let mut unlisted = DatahubContact::new("unlisted@x.com");
        unlisted.custom.insert("c9".into(), "x".into());
        let contacts = [
            DatahubContact::new("ok1@x.com"),
            broken,
            DatahubContact::default(),
            unlisted,
            DatahubContact::new("ok2@x.com"),
        ];
        let out = ContactCsvWriter::new("u", "S")
            .unwrap()
            .columns(vec![Column::Email, Column::Firstname])
            .write(&contacts)
            .unwrap();
        assert_eq!(texts(&out), ["email\nok1@x.com\nok2@x.com\n"]);
        assert_eq!(out.files[0].contacts, vec![0, 4]);
        let refused: Vec<_> = out
            .refused
            .iter()
            .map(|r| (r.index, r.key.as_str()))
            .collect();
        assert_eq!(
            refused,
            [(1, "broken@x.com"), (2, ""), (3, "unlisted@x.com")]
        );
        for r in &out.refused {
            assert!(
                matches!(r.error, Error::InvalidInput { .. }),
                "{:?}",
                r.error
            );
        }
        assert!(out.refused[2].error.to_string().contains("c9"));
    }

    #[test]
    fn rows_go_to_files_by_the_fields_they_carry() {
        let mut ann = DatahubContact::new("Ann@X.com");
        ann.firstname = Some("Ann".into());
        let mut bob = DatahubContact::new("bob@x.com");
        bob.custom.insert("c3".into(), "gold".into());
        bob.subscriptions = vec![Subscription::Subscribe(4)];
        let mut cid = DatahubContact::new("cid@x.com");
        cid.firstname = Some("Cid".into());
        let out = ContactCsvWriter::new("uni", "S")
            .unwrap()
            .write(&[ann, bob, cid])
            .unwrap();
        assert_eq!(
            texts(&out),
            [
                "email;firstname\nann@x.com;Ann\ncid@x.com;Cid\n",
                "email;subscriptions;c3\nbob@x.com;+4;gold\n"
            ],
            "no empty cell for a field a row did not set"
        );
        assert_eq!(out.files[0].contacts, vec![0, 2]);
        assert_eq!(out.files[1].contacts, vec![1]);
        assert_ne!(out.files[0].name, out.files[1].name);
        // A universe keyed by a custom field: that column first.
        let mut k = DatahubContact::default();
        k.custom.insert("customer_key".into(), "K1".into());
        k.lastname = Some("Doe".into());
        let out = ContactCsvWriter::new("uni", "S")
            .unwrap()
            .key(Column::custom("customer_key"))
            .write(&[k])
            .unwrap();
        assert_eq!(texts(&out), ["customer_key;lastname\nK1;Doe\n"]);
    }

    #[test]
    fn listed_columns_fix_the_order_and_files_still_group() {
        let mut a = DatahubContact::new("a@x.com");
        a.custom.insert("c1".into(), "1".into());
        a.firstname = Some("A".into());
        let mut b = DatahubContact::new("b@x.com");
        b.firstname = Some("B".into());
        let w = ContactCsvWriter::new("u", "S").unwrap().columns(vec![
            Column::Email,
            Column::custom("c1"),
            Column::Firstname,
            Column::Lastname,
        ]);
        let out = w.write(&[a, b]).unwrap();
        assert_eq!(
            texts(&out),
            [
                "email;c1;firstname\na@x.com;1;A\n",
                "email;firstname\nb@x.com;B\n"
            ]
        );
        // The first listed column must be the key column.
        let err = ContactCsvWriter::new("u", "S")
            .unwrap()
            .columns(vec![Column::Firstname, Column::Email])
            .write(&[])
            .unwrap_err();
        assert!(err.to_string().contains("key"), "{err}");
    }

    #[test]
    fn an_empty_value_leaves_the_field_unless_clearing_is_asked() {
        let mut c = DatahubContact::new("a@b.c");
        c.lastname = Some(String::new());
        c.custom.insert("c2".into(), String::new());
        c.firstname = Some("Al".into());
        let w = ContactCsvWriter::new("u", "S").unwrap();
        let out = w.write(std::slice::from_ref(&c)).unwrap();
        assert_eq!(texts(&out), ["email;firstname\na@b.c;Al\n"]);
        let out = w.empty_values(EmptyValues::Clear).write(&[c]).unwrap();
        assert_eq!(texts(&out), ["email;firstname;lastname;c2\na@b.c;Al;;\n"]);
    }

    #[test]
    fn the_key_is_checked_as_the_rest_path_does() {
        let mut spaced = DatahubContact::default();
        spaced.custom.insert("customer_key".into(), "  K1 ".into());
        let mut blank = DatahubContact::default();
        blank.custom.insert("customer_key".into(), "   ".into());
        let mut broken = DatahubContact::default();
        broken.custom.insert("customer_key".into(), "K\n2".into());
        let out = ContactCsvWriter::new("u", "S")
            .unwrap()
            .key(Column::custom("customer_key"))
            .line_breaks(LineBreaks::Flatten)
            .empty_values(EmptyValues::Clear)
            .write(&[spaced, blank, broken])
            .unwrap();
        assert_eq!(texts(&out), ["customer_key\nK1\n"]);
        assert_eq!(
            out.refused.iter().map(|r| r.index).collect::<Vec<_>>(),
            [1, 2]
        );
        assert!(
            out.refused[0]
                .error
                .to_string()
                .contains("unique key is missing or empty")
        );
        assert!(out.refused[1].error.to_string().contains("line break"));
        // Emails: trimmed and lowercased, as ContactData::key_for does.
        let key = crate::ContactData::with_email("  Ann@X.com ")
            .key_for(&crate::UniqueKey::Email)
            .unwrap();
        let out = ContactCsvWriter::new("u", "S")
            .unwrap()
            .write(&[DatahubContact::new("  Ann@X.com ")])
            .unwrap();
        assert_eq!(texts(&out), [format!("email\n{key}\n").as_str()]);
    }

    #[test]
    fn rejects_bad_columns() {
        let w = ContactCsvWriter::new("u", "S")
            .unwrap()
            .columns(vec![Column::Email, Column::custom("email")]);
        assert!(w.write(&[]).is_err());
        let w = ContactCsvWriter::new("u", "S").unwrap().columns(vec![]);
        assert!(w.write(&[]).is_err());
    }

    #[test]
    fn universe_names_may_hold_underscores_and_the_name_pattern_is_a_setting() {
        let at: Timestamp = "2024-03-05T10:00:00Z".parse().unwrap();
        let rows = [DatahubContact::new("a@b.c")];
        let w = ContactCsvWriter::new("my_universe", "PRCL").unwrap();
        let name = &w.write_at(&rows, at).unwrap().files[0].name;
        assert!(
            name.starts_with("my_universe_contacts_PRCL_20240305_"),
            "{name}"
        );
        assert!(name.ends_with(".csv"));
        // The form wamiz/splio-sdk builds: no separator before the date, no extension.
        let w = w.file_name(FileNamePattern::new(WAMIZ_FILE_NAME).unwrap());
        let name = &w.write_at(&rows, at).unwrap().files[0].name;
        assert!(
            name.starts_with("my_universe_contacts_PRCL20240305_"),
            "{name}"
        );
        assert!(!name.contains(".csv"), "{name}");
        let custom = ContactCsvWriter::new("u", "S").unwrap().file_name(
            FileNamePattern::new("{universe}-{subsequence}-{date}-{unique}.txt").unwrap(),
        );
        assert!(
            custom.write_at(&rows, at).unwrap().files[0]
                .name
                .starts_with("u-S-20240305-")
        );
        for bad in [
            "{universe}_{date}.csv",
            "{universe}/{unique}",
            "{unique}_{when}",
            "",
        ] {
            assert!(FileNamePattern::new(bad).is_err(), "{bad}");
        }
        assert!(ContactCsvWriter::new("my/universe", "S").is_err());
        assert!(ContactCsvWriter::new("", "S").is_err());
    }

    proptest::proptest! {
        /// Any mix of field sets: every contact lands in exactly one file (or is refused), and
        /// no file has an empty cell; reading the files back gives each contact's values.
        #[test]
        fn every_contact_once_and_no_empty_cell(
            rows in proptest::collection::vec(
                (proptest::option::of("[a-z]{1,5}"), proptest::option::of("[a-z]{1,5}"), proptest::option::of("[0-9]{1,3}")),
                0..40,
            ),
            max_lines in 2usize..6,
        ) {
            let contacts: Vec<DatahubContact> = rows
                .iter()
                .enumerate()
                .map(|(i, (first, last, c3))| {
                    let mut c = DatahubContact::new(format!("u{i}@x.com"));
                    c.firstname = first.clone();
                    c.lastname = last.clone();
                    if let Some(v) = c3 {
                        c.custom.insert("c3".into(), v.clone());
                    }
                    c
                })
                .collect();
            let out = ContactCsvWriter::new("u", "S").unwrap().max_lines(max_lines).write(&contacts).unwrap();
            proptest::prop_assert!(out.refused.is_empty());
            let mut seen = vec![0; contacts.len()];
            for f in &out.files {
                proptest::prop_assert!(f.rows < max_lines);
                let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(f.contents.as_slice());
                let header: Vec<String> = r.headers().unwrap().iter().map(str::to_owned).collect();
                for (rec, &index) in r.records().zip(&f.contacts) {
                    let rec = rec.unwrap();
                    seen[index] += 1;
                    let c = &contacts[index];
                    for (name, value) in header.iter().zip(rec.iter()) {
                        proptest::prop_assert!(!value.is_empty(), "empty {name} in {}", f.name);
                        let expected = match name.as_str() {
                            "email" => c.email.clone(),
                            "firstname" => c.firstname.clone(),
                            "lastname" => c.lastname.clone(),
                            other => c.custom.get(other).cloned(),
                        };
                        proptest::prop_assert_eq!(expected.as_deref(), Some(value));
                    }
                    let carried = 1 + usize::from(c.firstname.is_some()) + usize::from(c.lastname.is_some()) + c.custom.len();
                    proptest::prop_assert_eq!(header.len(), carried);
                }
            }
            proptest::prop_assert!(seen.iter().all(|&n| n == 1), "{:?}", seen);
        }

        #[test]
        fn any_single_line_value_round_trips(first in "[^\r\n]{1,40}", email in "[a-zA-Z0-9.+]{1,10}@[a-z]{1,5}\\.com") {
            let mut c = DatahubContact::new(email.clone());
            c.firstname = Some(first.clone());
            let w = ContactCsvWriter::new("u", "S").unwrap().columns(vec![Column::Email, Column::Firstname]);
            let files = w.write(&[c]).unwrap().files;
            let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(files[0].contents.as_slice());
            let rec = r.records().next().unwrap().unwrap();
            let lower = email.to_lowercase();
            proptest::prop_assert_eq!(&rec[0], lower.as_str());
            proptest::prop_assert_eq!(&rec[1], first.as_str());
            proptest::prop_assert_eq!(text(&files[0]).lines().count(), 2);
        }
    }
}
