"""Validates the served OpenAPI document as OpenAPI 3.1 with openapi-spec-validator.

Usage: python validate.py <base-url>
"""

import json
import sys
import urllib.request

from openapi_spec_validator import validate
from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

with urllib.request.urlopen(f"{sys.argv[1]}/api/v1/openapi") as response:
    document = json.load(response)
assert document["openapi"] == "3.1.0", document["openapi"]
validate(document, cls=OpenAPIV31SpecValidator)
print(f"openapi: {len(document['paths'])} paths, {len(document['webhooks'])} webhooks valid as OpenAPI 3.1")
print("1 passed, 0 failed")
