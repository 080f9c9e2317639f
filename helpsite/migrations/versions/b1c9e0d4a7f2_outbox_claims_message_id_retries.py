"""outbox: claims, a Message-ID fixed when the mail is written, retries with backoff, given-up mail

Revision ID: b1c9e0d4a7f2
Revises: af563e1875ac
Create Date: 2026-11-30 19:40:00

"""
import secrets

import sqlalchemy as sa
from alembic import op

import helpsite.models

revision = 'b1c9e0d4a7f2'
down_revision = 'af563e1875ac'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('message_id', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('auto_submitted', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('in_reply_to', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('references', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', helpsite.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('claim_token', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('claimed_until', helpsite.models.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('failed_at', helpsite.models.UTCDateTime(timezone=True), nullable=True))
    # Mail already in the outbox gets its Message-ID now (without a reply token: it was written
    # before tokens existed), so the column can be required.
    connection = op.get_bind()
    outgoing = sa.table('outgoing_mail', sa.column('id', sa.Integer), sa.column('message_id', sa.String))
    for (row_id,) in connection.execute(sa.select(outgoing.c.id).where(outgoing.c.message_id.is_(None))).all():
        connection.execute(outgoing.update().where(outgoing.c.id == row_id)
                           .values(message_id=f"<{secrets.token_hex(12)}@webxtra.nl>"))
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.alter_column('message_id', existing_type=sa.String(length=255), nullable=False)
        batch_op.create_unique_constraint('uq_outgoing_mail_message_id', ['message_id'])
        batch_op.create_index(batch_op.f('ix_outgoing_mail_claim_token'), ['claim_token'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_mail_failed_at'), ['failed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_outgoing_mail_next_attempt_at'), ['next_attempt_at'], unique=False)


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_constraint('uq_outgoing_mail_message_id', type_='unique')
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_next_attempt_at'))
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_failed_at'))
        batch_op.drop_index(batch_op.f('ix_outgoing_mail_claim_token'))
        for column in ('failed_at', 'claimed_until', 'claim_token', 'next_attempt_at', 'references',
                       'in_reply_to', 'auto_submitted', 'message_id'):
            batch_op.drop_column(column)
