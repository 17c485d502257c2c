//! Where an incremental source starts reading.

use jiff::civil::DateTime;

use crate::config::JobConfig;
use crate::error::Error;
use crate::state::StateStore;

/// Where an incremental source should start reading: `--since` if given; otherwise the earliest
/// unsettled point: the stored watermark minus the job's overlap, or the read-from point of an
/// earlier run that never completed (killed, failed, interrupted) and that no completed run has
/// covered since, whichever is earlier; `default` when there is neither (the first run), or
/// when it is earlier than an unfinished first load's point.
pub fn read_from(
    state: &StateStore,
    job: &JobConfig,
    since: Option<DateTime>,
    default: DateTime,
) -> Result<DateTime, Error> {
    let unsettled = state.unsettled_from(&job.name)?;
    if let Some(since) = since {
        if let Some(unsettled) = unsettled.filter(|u| *u < since) {
            tracing::warn!(
                job = %job.name,
                %unsettled,
                "an earlier run that did not complete read from {unsettled}; a run without \
                 --since will resume from there"
            );
        }
        return Ok(since);
    }
    let from_watermark = match state.watermark(&job.name)? {
        Some(watermark) => {
            let overlap = jiff::SignedDuration::try_from(job.overlap)
                .map_err(|e| Error::Config(format!("job.overlap: {e}")))?;
            Some(watermark.checked_sub(overlap).unwrap_or(DateTime::MIN))
        }
        None => None,
    };
    Ok(match (from_watermark, unsettled) {
        (Some(w), Some(u)) => w.min(u),
        (Some(w), None) => w,
        (None, Some(u)) => u.min(default),
        (None, None) => default,
    })
}
