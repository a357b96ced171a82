"""怀化 convenience-service registry (便民服务中心 / 村(居)便民服务代办点)."""

__version__ = "0.1.0"
