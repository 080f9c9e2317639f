"""users: a server-side end to each login session

Revision ID: c721f5ad40d6
Revises: c4d2f8a1b3e5
Create Date: 2026-11-30 19:51:09.499855

"""
from alembic import op

import helpsite.models
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c721f5ad40d6'
down_revision = 'c4d2f8a1b3e5'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.add_column(sa.Column('session_expires_at', helpsite.models.UTCDateTime(timezone=True), nullable=True))



def downgrade():
    with op.batch_alter_table('user', schema=None) as batch_op:
        batch_op.drop_column('session_expires_at')

