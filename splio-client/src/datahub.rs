//! Datahub contacts files: the `;`-separated CSV that Splio's automatic import picks up from
//! `/imports/` (upload them with [`crate::sftp::SftpUploader`]).
//!
//! Rules followed: UTF-8 without BOM, `;` separator, a header row with the exact (case-sensitive)
//! column names, values quoted only when they hold `;` or `"` (quotes doubled), no multi-line
//! rows (rejected, or flattened to spaces when asked), emails lowercased, at most 200,000 lines per
//! file (header included; larger sets are split). By default a file has the key column and the
//! columns its rows give values for, nothing else: an empty cell may blank what Splio holds.
//!
//! Choices where Splio's documentation is silent (all settings): the file name (default
//! [`DEFAULT_FILE_NAME`], `{universe}_contacts_{subsequence}_{YYYYMMDD}_{unique}.csv`; the one
//! public client builds [`WAMIZ_FILE_NAME`] instead); `dateOfCreation` is written as `YYYYMMDD`
//! (the only format seen in public code); `subscriptions` as `+id` / `-id`, comma separated;
//! custom columns are named by the caller (`c<id>` or the field name, whichever the universe's
//! import is configured for). When the universe is keyed by a custom field, make that column the
//! [`key`](ContactCsvWriter::key) (e.g. `Column::custom("customer_key")`). The first column is
//! the contact key: rows with an empty key are rejected. Files are built in memory (one file
//! holds at most 200,000 lines, a few tens of MB).
//!
//! ```
//! use splio_client::datahub::{Column, ContactCsvWriter, DatahubContact, Subscription};
//! let writer = ContactCsvWriter::new("myuniverse", "PRCL")?
//!     .columns(vec![Column::Email, Column::Firstname, Column::Subscriptions, Column::custom("c3")]);
//! let mut jane = DatahubContact::new("Jane@Example.com");
//! jane.firstname = Some("Jane; \"JJ\"".into());
//! jane.subscriptions = vec![Subscription::Subscribe(1), Subscription::Unsubscribe(2)];
//! jane.custom.insert("c3".into(), "gold".into());
//! let files = writer.write(&[jane])?;
//! assert_eq!(
//!     String::from_utf8(files[0].contents.clone()).unwrap(),
//!     "email;firstname;subscriptions;c3\njane@example.com;\"Jane; \"\"JJ\"\"\";+1,-2;gold\n"
//! );
//! assert!(files[0].name.starts_with("myuniverse_contacts_PRCL_"));
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
    /// Custom column values by header name (every name must be one of the writer's columns).
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

/// What to do with a line break inside a value (the importer rejects multi-line rows).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LineBreaks {
    /// Fail with [`Error::InvalidInput`] naming the row and column (default).
    #[default]
    Reject,
    /// Replace each run of `\r`/`\n` with one space.
    Flatten,
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

    /// Fix the file's columns, in order, the first being the key (only these are written; an
    /// unknown column makes Splio skip the whole file, and an empty cell may blank a value, so
    /// list exactly what you send). Without it a file has the key and the columns its rows
    /// give values for.
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

    /// `strftime` format of `dateOfCreation` (default `%Y%m%d`).
    pub fn date_format(mut self, format: impl Into<String>) -> Self {
        self.date_format = format.into();
        self
    }

    /// Write `contacts` into as many files as needed, named with today's UTC date.
    pub fn write(&self, contacts: &[DatahubContact]) -> Result<Vec<DatahubFile>> {
        self.write_at(contacts, Timestamp::now())
    }

    /// Like [`write`](Self::write), with an explicit timestamp for the names (date and unique part).
    pub fn write_at(&self, contacts: &[DatahubContact], at: Timestamp) -> Result<Vec<DatahubFile>> {
        let day = at
            .to_zoned(jiff::tz::TimeZone::UTC)
            .strftime("%Y%m%d")
            .to_string();
        let unique = format!("{:x}", at.as_microsecond());
        let per_file = self.max_lines - 1;
        let mut files = Vec::new();
        let chunks: Vec<&[DatahubContact]> = if contacts.is_empty() {
            vec![&[]]
        } else {
            contacts.chunks(per_file).collect()
        };
        for (part, chunk) in chunks.into_iter().enumerate() {
            let columns = match &self.columns {
                Some(columns) => columns.clone(),
                None => self.columns_of(chunk),
            };
            check_columns(&columns)?;
            let mut out = csv::WriterBuilder::new()
                .delimiter(b';')
                .quote_style(csv::QuoteStyle::Necessary)
                .terminator(csv::Terminator::Any(b'\n'))
                .from_writer(Vec::new());
            let csv_err = |e: csv::Error| Error::invalid("datahub file", "csv", e.to_string());
            out.write_record(columns.iter().map(Column::header))
                .map_err(csv_err)?;
            for (n, contact) in chunk.iter().enumerate() {
                let row = part * per_file + n;
                out.write_record(self.row(&columns, contact, row)?)
                    .map_err(csv_err)?;
            }
            let contents = out
                .into_inner()
                .map_err(|e| Error::invalid("datahub file", "csv", e.to_string()))?;
            let name = self
                .file_name
                .0
                .replace("{universe}", &self.universe)
                .replace("{subsequence}", &self.subsequence)
                .replace("{date}", &day)
                .replace("{unique}", &format!("{unique}{part:03}"));
            files.push(DatahubFile {
                name,
                contents,
                rows: chunk.len(),
            });
        }
        Ok(files)
    }

    /// The key, then every standard column (in Splio's order) and custom column (first seen
    /// first) that at least one row gives a value for.
    fn columns_of(&self, rows: &[DatahubContact]) -> Vec<Column> {
        let mut columns = vec![self.key.clone()];
        for standard in Column::standard() {
            let used = rows.iter().any(|c| match standard {
                Column::Email => c.email.is_some(),
                Column::Firstname => c.firstname.is_some(),
                Column::Lastname => c.lastname.is_some(),
                Column::Cellphone => c.cellphone.is_some(),
                Column::Language => c.language.is_some(),
                Column::DateOfCreation => c.date_of_creation.is_some(),
                Column::Subscriptions => !c.subscriptions.is_empty(),
                Column::Custom(_) => false,
            });
            if used && standard != self.key {
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

    fn row(&self, columns: &[Column], c: &DatahubContact, row: usize) -> Result<Vec<String>> {
        let record = || format!("row {row} ({})", c.email.as_deref().unwrap_or(""));
        for name in c.custom.keys() {
            if !columns
                .iter()
                .any(|col| matches!(col, Column::Custom(n) if n == name))
            {
                return Err(Error::invalid(
                    record(),
                    name.as_str(),
                    "custom value for a column the file does not have",
                ));
            }
        }
        let mut values = Vec::with_capacity(columns.len());
        for (i, col) in columns.iter().enumerate() {
            let raw = match col {
                Column::Email => c.email.as_deref().map(|e| e.trim().to_lowercase()),
                Column::Firstname => c.firstname.clone(),
                Column::Lastname => c.lastname.clone(),
                Column::Cellphone => c.cellphone.clone(),
                Column::Language => c.language.clone(),
                Column::DateOfCreation => c
                    .date_of_creation
                    .map(|d| d.strftime(&self.date_format).to_string()),
                Column::Subscriptions => Some(
                    c.subscriptions
                        .iter()
                        .map(|s| match s {
                            Subscription::Subscribe(id) => format!("+{id}"),
                            Subscription::Unsubscribe(id) => format!("-{id}"),
                        })
                        .collect::<Vec<_>>()
                        .join(","),
                ),
                Column::Custom(name) => c.custom.get(name).cloned(),
            }
            .unwrap_or_default();
            if i == 0 && raw.trim().is_empty() {
                return Err(Error::invalid(
                    record(),
                    col.header(),
                    "the first column is the contact key and must not be empty",
                ));
            }
            values.push(self.single_line(raw, col, &record)?);
        }
        Ok(values)
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

#[cfg(test)]
mod tests {
    use super::*;

    fn text(f: &DatahubFile) -> &str {
        std::str::from_utf8(&f.contents).unwrap()
    }

    #[test]
    fn splits_and_names() {
        let w = ContactCsvWriter::new("uni", "PRCL").unwrap().max_lines(3);
        let rows: Vec<_> = (0..5)
            .map(|i| DatahubContact::new(format!("U{i}@X.com")))
            .collect();
        let at: Timestamp = "2024-03-05T10:00:00Z".parse().unwrap();
        let files = w.write_at(&rows, at).unwrap();
        assert_eq!(
            files.iter().map(|f| f.rows).collect::<Vec<_>>(),
            vec![2, 2, 1]
        );
        assert!(files[0].name.starts_with("uni_contacts_PRCL_20240305_"));
        assert!(files.iter().all(|f| f.name.ends_with(".csv")));
        let names: std::collections::HashSet<_> = files.iter().map(|f| &f.name).collect();
        assert_eq!(names.len(), 3);
        assert_eq!(text(&files[2]), "email\nu4@x.com\n");
        assert!(!files[0].contents.starts_with(b"\xEF\xBB\xBF"));
    }

    #[test]
    fn line_breaks_rejected_or_flattened() {
        let mut c = DatahubContact::new("a@b.c");
        c.lastname = Some("two\r\nlines".into());
        let w = ContactCsvWriter::new("u", "S").unwrap();
        let err = w.write(std::slice::from_ref(&c)).unwrap_err();
        assert!(err.to_string().contains("lastname"), "{err}");
        let files = w.line_breaks(LineBreaks::Flatten).write(&[c]).unwrap();
        assert_eq!(text(&files[0]), "email;lastname\na@b.c;two lines\n");
    }

    #[test]
    fn rejects_bad_columns_and_unknown_custom_values() {
        let w = ContactCsvWriter::new("u", "S")
            .unwrap()
            .columns(vec![Column::Email, Column::custom("email")]);
        assert!(w.write(&[]).is_err());
        let mut c = DatahubContact::new("a@b.c");
        c.custom.insert("c9".into(), "x".into());
        assert!(
            ContactCsvWriter::new("u", "S")
                .unwrap()
                .columns(vec![Column::Email])
                .write(&[c])
                .is_err()
        );
        assert!(
            ContactCsvWriter::new("u", "S")
                .unwrap()
                .write(&[DatahubContact::default()])
                .is_err()
        );
    }

    #[test]
    fn by_default_only_the_key_and_the_columns_given_values() {
        let mut ann = DatahubContact::new("Ann@X.com");
        ann.firstname = Some("Ann".into());
        let mut bob = DatahubContact::new("bob@x.com");
        bob.custom.insert("c3".into(), "gold".into());
        bob.subscriptions = vec![Subscription::Subscribe(4)];
        let files = ContactCsvWriter::new("uni", "S")
            .unwrap()
            .write(&[ann, bob])
            .unwrap();
        assert_eq!(
            text(&files[0]),
            "email;firstname;subscriptions;c3\nann@x.com;Ann;;\nbob@x.com;;+4;gold\n",
            "no empty lastname, cellphone, language or dateOfCreation column"
        );
        // A universe keyed by a custom field: that column first.
        let mut k = DatahubContact::default();
        k.custom.insert("customer_key".into(), "K1".into());
        k.lastname = Some("Doe".into());
        let files = ContactCsvWriter::new("uni", "S")
            .unwrap()
            .key(Column::custom("customer_key"))
            .write(&[k])
            .unwrap();
        assert_eq!(text(&files[0]), "customer_key;lastname\nK1;Doe\n");
    }

    #[test]
    fn universe_names_may_hold_underscores_and_the_name_pattern_is_a_setting() {
        let at: Timestamp = "2024-03-05T10:00:00Z".parse().unwrap();
        let rows = [DatahubContact::new("a@b.c")];
        let w = ContactCsvWriter::new("my_universe", "PRCL").unwrap();
        let name = &w.write_at(&rows, at).unwrap()[0].name;
        assert!(
            name.starts_with("my_universe_contacts_PRCL_20240305_"),
            "{name}"
        );
        assert!(name.ends_with(".csv"));
        // The form wamiz/splio-sdk builds: no separator before the date, no extension.
        let w = w.file_name(FileNamePattern::new(WAMIZ_FILE_NAME).unwrap());
        let name = &w.write_at(&rows, at).unwrap()[0].name;
        assert!(
            name.starts_with("my_universe_contacts_PRCL20240305_"),
            "{name}"
        );
        assert!(!name.contains(".csv"), "{name}");
        let custom = ContactCsvWriter::new("u", "S").unwrap().file_name(
            FileNamePattern::new("{universe}-{subsequence}-{date}-{unique}.txt").unwrap(),
        );
        assert!(
            custom.write_at(&rows, at).unwrap()[0]
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
        #[test]
        fn any_single_line_value_round_trips(first in "[^\r\n]{0,40}", email in "[a-zA-Z0-9.+]{1,10}@[a-z]{1,5}\\.com") {
            let mut c = DatahubContact::new(email.clone());
            c.firstname = Some(first.clone());
            let w = ContactCsvWriter::new("u", "S").unwrap().columns(vec![Column::Email, Column::Firstname]);
            let files = w.write(&[c]).unwrap();
            let mut r = csv::ReaderBuilder::new().delimiter(b';').from_reader(files[0].contents.as_slice());
            let rec = r.records().next().unwrap().unwrap();
            let lower = email.to_lowercase();
            proptest::prop_assert_eq!(&rec[0], lower.as_str());
            proptest::prop_assert_eq!(&rec[1], first.as_str());
            proptest::prop_assert_eq!(text(&files[0]).lines().count(), 2);
        }
    }
}
