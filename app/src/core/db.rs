//! Transactions.

use sea_orm::{
    DatabaseConnection, DatabaseTransaction, DbErr, SqliteTransactionMode, TransactionOptions,
    TransactionTrait,
};

/// Starts a transaction that will write. On SQLite it takes the write lock
/// at `BEGIN` (IMMEDIATE), so concurrent writers wait their turn (busy
/// timeout) instead of failing when a read lock would have to be upgraded.
/// PostgreSQL ignores the option.
pub async fn begin_write(db: &DatabaseConnection) -> Result<DatabaseTransaction, DbErr> {
    db.begin_with_options(TransactionOptions {
        sqlite_transaction_mode: Some(SqliteTransactionMode::Immediate),
        ..Default::default()
    })
    .await
}

/// `column` starts with `prefix`, in any case: `LOWER(column) LIKE 'prefix%'`
/// with `%`, `_` and `\` in the prefix matched as themselves. SQLite's `LOWER`
/// lowers ASCII letters only and PostgreSQL's every letter, so the prefix is
/// tried lowered both ways ("Ärz" finds "Ärzte" on either; "ärz" on PostgreSQL).
pub fn starts_with_any_case<C: sea_orm::ColumnTrait>(
    column: C,
    prefix: &str,
) -> sea_orm::sea_query::SimpleExpr {
    use sea_orm::sea_query::{Expr, ExprTrait, Func, LikeExpr};
    let pattern = |p: String| {
        let escaped = p
            .replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_");
        LikeExpr::new(format!("{escaped}%")).escape('\\')
    };
    let lowered = || Expr::expr(Func::lower(Expr::col(column)));
    lowered()
        .like(pattern(prefix.to_lowercase()))
        .or(lowered().like(pattern(prefix.to_ascii_lowercase())))
}
