"""mail in: a receipt per Message-ID taken in, and the Message-ID of a customer's mail on its message

Revision ID: c4d2f8a1b3e5
Revises: b1c9e0d4a7f2
Create Date: 2026-11-30 19:41:00

"""
import sqlalchemy as sa
from alembic import op

import helpsite.models

revision = 'c4d2f8a1b3e5'
down_revision = 'b1c9e0d4a7f2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('mail_receipt',
                    sa.Column('id', sa.Integer(), nullable=False),
                    sa.Column('message_id', sa.String(length=255), nullable=False),
                    sa.Column('created_at', helpsite.models.UTCDateTime(timezone=True), nullable=False),
                    sa.PrimaryKeyConstraint('id'),
                    sa.UniqueConstraint('message_id'))
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mail_message_id', sa.String(length=255), nullable=True))


def downgrade():
    with op.batch_alter_table('message', schema=None) as batch_op:
        batch_op.drop_column('mail_message_id')
    op.drop_table('mail_receipt')
