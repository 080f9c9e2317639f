"""outbox: a 'sending' mark before each SMTP attempt; a support reply can ask for information

The mark: an attempt whose outcome is unknown is checked against the journal. The flag: the
customer's answer to our request for information keeps the ticket's place in the queue.

Revision ID: 5e8a1f3c9b27
Revises: 3c9d2e7a41b0
Create Date: 2026-11-30 23:10:00

"""
import sqlalchemy as sa
from alembic import op

import helpsite.models

revision = '5e8a1f3c9b27'
down_revision = '3c9d2e7a41b0'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sending_since', helpsite.models.UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('asks_information', sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('asks_information')
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_column('sending_since')
