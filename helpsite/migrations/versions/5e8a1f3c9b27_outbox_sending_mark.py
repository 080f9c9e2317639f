"""outbox: a 'sending' mark before each SMTP attempt (an attempt whose outcome is unknown is checked against the journal)

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


def downgrade():
    with op.batch_alter_table('outgoing_mail', schema=None) as batch_op:
        batch_op.drop_column('sending_since')
