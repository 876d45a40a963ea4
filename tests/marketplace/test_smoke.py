def test_cluster_list_is_empty_on_a_new_database(client):
    response = client.get("/api/v1/clusters")
    assert response.status_code == 200
    assert response.get_json() == []
