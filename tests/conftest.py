pytest_plugins = ["fusion.testing.plugin", "fusion.testing.rabbit", "fusion.testing.standalone"]
