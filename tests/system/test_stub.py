def test_stub(): pass
