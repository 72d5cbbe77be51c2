//! System dashboard templates for AI workloads and their instantiation into project dashboards.
