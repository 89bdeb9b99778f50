"""interactions are append-only: the database refuses rewriting what was said

Revision ID: 0004_append_only
Revises: 0004_webhooks

A written subject, text or HTML can never change, except to blank by erasure or
retention, which stamp `redacted_at` in the same UPDATE
(`privacy/redact.py`). A blank one may be filled once: a voicemail's
transcription arrives after its recording. Deleting an interaction is refused:
erasure keeps the row for the figures. Re-pointing `customer_id` and
`ticket_id` (merge, unmerge) stays allowed: it moves the row, it does not
rewrite it.
"""

from alembic import op

revision = '0004_append_only'
down_revision = '0004_webhooks'
branch_labels = None
depends_on = None

MESSAGE = 'interactions are append-only: only erasure or retention may blank their words'

# True when the row's words are rewritten: a written column changed, and not to a redaction.
REWRITE = """(
    (OLD.subject <> '' AND NEW.subject IS DISTINCT FROM OLD.subject)
    OR (OLD.text <> '' AND NEW.text IS DISTINCT FROM OLD.text)
    OR (OLD.html <> '' AND NEW.html IS DISTINCT FROM OLD.html)
) AND NOT (
    NEW.redacted_at IS NOT NULL AND NEW.subject = '' AND NEW.text = '' AND NEW.html = ''
)"""


def upgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"""
            CREATE FUNCTION interactions_append_only() RETURNS trigger AS $$
            BEGIN
                IF TG_OP = 'DELETE' THEN
                    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                IF {REWRITE} THEN
                    RAISE EXCEPTION '{MESSAGE}' USING ERRCODE = 'integrity_constraint_violation';
                END IF;
                RETURN NEW;
            END
            $$ LANGUAGE plpgsql""")
        op.execute("""
            CREATE TRIGGER interactions_append_only BEFORE UPDATE OR DELETE ON interactions
            FOR EACH ROW EXECUTE FUNCTION interactions_append_only()""")
    else:
        rewrite = REWRITE.replace('IS DISTINCT FROM', 'IS NOT')
        op.execute(f"""
            CREATE TRIGGER interactions_no_rewrite BEFORE UPDATE ON interactions
            FOR EACH ROW WHEN {rewrite}
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")
        op.execute(f"""
            CREATE TRIGGER interactions_no_delete BEFORE DELETE ON interactions
            BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END""")


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('DROP TRIGGER interactions_append_only ON interactions')
        op.execute('DROP FUNCTION interactions_append_only()')
    else:
        op.execute('DROP TRIGGER interactions_no_rewrite')
        op.execute('DROP TRIGGER interactions_no_delete')
