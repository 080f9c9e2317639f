"""The migrations build the same schema as the models: a fresh `flask db upgrade` leaves nothing to migrate."""

from helpsite import create_app
from helpsite.config import TestingConfig


def test_upgrade_from_empty_matches_the_models(tmp_path, shared_index_dir):
    config = {key: getattr(TestingConfig, key) for key in dir(TestingConfig) if key.isupper()}
    config.update(SECRET_KEY="test", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'migrated.db'}",
                  SEARCH_INDEX_DIR=str(shared_index_dir))
    runner = create_app(config).test_cli_runner()
    upgrade = runner.invoke(args=["db", "upgrade"])
    assert upgrade.exit_code == 0, upgrade.output
    check = runner.invoke(args=["db", "check"])
    assert check.exit_code == 0, check.output
