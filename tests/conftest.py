pytest_plugins = ["fusion.testing.plugin"]
