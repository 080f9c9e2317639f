"""incidents: known incidents and planned maintenance, their updates, followers and gathered tickets

Revision ID: a71cfec37a5d
Revises: c721f5ad40d6
Create Date: 2026-11-30 19:38:22.169237

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a71cfec37a5d'
down_revision = 'c721f5ad40d6'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('incident',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('title_nl', sa.String(length=200), nullable=False),
    sa.Column('title_en', sa.String(length=200), nullable=False),
    sa.Column('description_nl', sa.Text(), nullable=False),
    sa.Column('description_en', sa.Text(), nullable=False),
    sa.Column('services', sa.String(length=200), nullable=False),
    sa.Column('servers', sa.Text(), nullable=False),
    sa.Column('domains', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_started_at'), ['started_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_status'), ['status'], unique=False)

    op.create_table('incident_follower',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('lang', sa.String(length=5), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'user_id')
    )
    with op.batch_alter_table('incident_follower', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_follower_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_follower_user_id'), ['user_id'], unique=False)

    op.create_table('incident_ticket',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.ForeignKeyConstraint(['ticket_id'], ['ticket.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('incident_id', 'ticket_id')
    )
    with op.batch_alter_table('incident_ticket', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_ticket_incident_id'), ['incident_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_incident_ticket_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('incident_update',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('incident_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('body_nl', sa.Text(), nullable=False),
    sa.Column('body_en', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['user.id'], ),
    sa.ForeignKeyConstraint(['incident_id'], ['incident.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('incident_update', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_incident_update_incident_id'), ['incident_id'], unique=False)

    # ### end Alembic commands ###


def downgrade():
    with op.batch_alter_table('incident_update', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_update_incident_id'))

    op.drop_table('incident_update')
    with op.batch_alter_table('incident_ticket', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_ticket_ticket_id'))
        batch_op.drop_index(batch_op.f('ix_incident_ticket_incident_id'))

    op.drop_table('incident_ticket')
    with op.batch_alter_table('incident_follower', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_follower_user_id'))
        batch_op.drop_index(batch_op.f('ix_incident_follower_incident_id'))

    op.drop_table('incident_follower')
    with op.batch_alter_table('incident', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_incident_status'))
        batch_op.drop_index(batch_op.f('ix_incident_started_at'))

    op.drop_table('incident')
    # ### end Alembic commands ###
