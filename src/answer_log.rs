//! The answer log exported for analysis, read in pages so that an export of millions of answers
//! holds one page at a time. The first page comes from the read replica when one answers, else
//! from the primary; every later page from the same database, so the export reads one history.

use std::sync::Arc;

use crate::domain::ids::OrgId;
use crate::error::{ApiError, ApiResult};
use crate::store::reader::Reader;
use crate::store::replica::{self, ReadReplica, ReadSource};
use crate::store::reviews::{export_page, ExportCursor, ExportPage, ReceivedWindow};
use crate::store::DbPool;

/// Rows read per query while streaming an export: bounds the memory an export holds.
pub const EXPORT_PAGE_ROWS: usize = 5_000;

/// An export under way: whose answers, which window, and where its pages are read.
#[derive(Clone)]
pub struct Export {
    primary: DbPool,
    replica: Option<Arc<ReadReplica>>,
    source: ReadSource,
    org_id: OrgId,
    window: ReceivedWindow,
}

impl Export {
    /// Reads the first page of the organization's answers received in `window` (blocking).
    #[tracing::instrument(skip_all, fields(org_id = %org_id))]
    pub fn start(
        primary: DbPool,
        replica: Option<Arc<ReadReplica>>,
        org_id: OrgId,
        window: ReceivedWindow,
    ) -> ApiResult<(ExportPage, Export)> {
        let org = org_id.clone();
        let (first, source) = replica::read(&primary, replica.as_deref(), move |conn| {
            Ok::<_, ApiError>(export_page(conn, &org, window, None, EXPORT_PAGE_ROWS)?)
        })?;
        let export = Export {
            primary,
            replica,
            source,
            org_id,
            window,
        };
        Ok((first, export))
    }

    /// The database that answered the first page.
    pub fn source(&self) -> ReadSource {
        self.source
    }

    /// Reads the page after `cursor` (blocking).
    #[tracing::instrument(skip_all, fields(org_id = %self.org_id))]
    pub fn page_after(&self, cursor: &ExportCursor) -> ApiResult<ExportPage> {
        let page = |conn: &mut Reader<'_>| -> ApiResult<ExportPage> {
            Ok(export_page(
                conn,
                &self.org_id,
                self.window,
                Some(cursor),
                EXPORT_PAGE_ROWS,
            )?)
        };
        replica::read_again(&self.primary, self.replica.as_deref(), self.source, page)
    }
}
