"""Small JSON schemas for the two custom resources the manifests use, which kubernetes-validate
has no schemas for (it bundles only the built-in API).

They are NOT the CRDs' full schemas: they cover the fields deploy/ uses, with the types and
required fields of the upstream CRDs (openshift/api route/v1 `Route`, prometheus-operator
`ServiceMonitor` monitoring.coreos.com/v1), and refuse any other field
(`additionalProperties: false`), so a typo or an invented field fails here. A field the
manifests start to use must be added here from the CRD's documentation.
"""

_METADATA = {
    "type": "object",
    "required": ["name"],
    "properties": {
        "name": {"type": "string", "pattern": r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"},
        "namespace": {"type": "string"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
    },
    "additionalProperties": False,
}

_LABEL_SELECTOR = {
    "type": "object",
    "properties": {
        "matchLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "matchExpressions": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["key", "operator"],
                "properties": {
                    "key": {"type": "string"},
                    "operator": {"enum": ["In", "NotIn", "Exists", "DoesNotExist"]},
                    "values": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
            },
        },
    },
    "additionalProperties": False,
}

_INT_OR_STRING = {"anyOf": [{"type": "integer"}, {"type": "string"}]}

# Prometheus duration as the CRD's pattern has it.
_DURATION = {"type": "string", "pattern": r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"}


def _resource(api_version: str, kind: str, spec: dict) -> dict:
    return {
        "type": "object",
        "required": ["apiVersion", "kind", "metadata", "spec"],
        "properties": {
            "apiVersion": {"const": api_version},
            "kind": {"const": kind},
            "metadata": _METADATA,
            "spec": spec,
        },
        "additionalProperties": False,
    }


ROUTE = _resource(
    "route.openshift.io/v1",
    "Route",
    {
        "type": "object",
        "required": ["to"],
        "properties": {
            "host": {"type": "string"},
            "path": {"type": "string"},
            "to": {
                "type": "object",
                "required": ["kind", "name"],
                "properties": {
                    "kind": {"enum": ["Service", ""]},
                    "name": {"type": "string", "minLength": 1},
                    "weight": {"type": "integer", "minimum": 0, "maximum": 256},
                },
                "additionalProperties": False,
            },
            "port": {
                "type": "object",
                "required": ["targetPort"],
                "properties": {"targetPort": _INT_OR_STRING},
                "additionalProperties": False,
            },
            "tls": {
                "type": "object",
                "required": ["termination"],
                "properties": {
                    "termination": {"enum": ["edge", "reencrypt", "passthrough"]},
                    "insecureEdgeTerminationPolicy": {"enum": ["Allow", "None", "Redirect", ""]},
                    "certificate": {"type": "string"},
                    "key": {"type": "string"},
                    "caCertificate": {"type": "string"},
                    "destinationCACertificate": {"type": "string"},
                },
                "additionalProperties": False,
            },
            "wildcardPolicy": {"enum": ["None", "Subdomain", ""]},
        },
        "additionalProperties": False,
    },
)

SERVICE_MONITOR = _resource(
    "monitoring.coreos.com/v1",
    "ServiceMonitor",
    {
        "type": "object",
        "required": ["selector", "endpoints"],
        "properties": {
            "selector": _LABEL_SELECTOR,
            "namespaceSelector": {
                "type": "object",
                "properties": {
                    "any": {"type": "boolean"},
                    "matchNames": {"type": "array", "items": {"type": "string"}},
                },
                "additionalProperties": False,
            },
            "jobLabel": {"type": "string"},
            "endpoints": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "properties": {
                        "port": {"type": "string"},
                        "targetPort": _INT_OR_STRING,
                        "path": {"type": "string"},
                        "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                        "interval": _DURATION,
                        "scrapeTimeout": _DURATION,
                        "honorLabels": {"type": "boolean"},
                    },
                    "additionalProperties": False,
                },
            },
        },
        "additionalProperties": False,
    },
)

# (apiVersion, kind) -> schema
SCHEMAS = {
    ("route.openshift.io/v1", "Route"): ROUTE,
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SERVICE_MONITOR,
}
