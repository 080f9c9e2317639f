def test_home_answers_in_both_languages(client):
    assert client.get("/nl/").status_code == 200
    assert client.get("/en/").status_code == 200
