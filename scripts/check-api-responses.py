"""Checks API responses against chatfn's OpenAPI document.

Usage: check-api-responses.py OPENAPI.json SAMPLES.json

SAMPLES.json is a list of {"method", "path" (as the document names it, /v1/applications/{app}), "status",
"body" (the parsed JSON, or null)}. Each response must be one the document declares for that operation and
status, and its body must match the declared schema. Prints one line per problem; exits 1 if any.
"""
import json
import sys

import jsonschema


def openapi_to_json_schema(node):
    """OpenAPI 3.0's `nullable: true` as JSON Schema's type list; everything else as it is."""
    if isinstance(node, list):
        return [openapi_to_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    converted = {key: openapi_to_json_schema(value) for key, value in node.items() if key != "nullable"}
    if node.get("nullable") is True:
        if "type" in converted:
            types = converted["type"] if isinstance(converted["type"], list) else [converted["type"]]
            converted["type"] = types + ["null"]
        else:
            converted = {"anyOf": [converted, {"type": "null"}]}
    return converted


def main():
    with open(sys.argv[1]) as spec_file:
        spec = openapi_to_json_schema(json.load(spec_file))
    with open(sys.argv[2]) as samples_file:
        samples = json.load(samples_file)
    problems = []
    for sample in samples:
        where = f'{sample["method"]} {sample["path"]} → {sample["status"]}'
        operation = spec["paths"].get(sample["path"], {}).get(sample["method"].lower())
        if operation is None:
            problems.append(f"{where}: no such operation in the document")
            continue
        response = operation.get("responses", {}).get(str(sample["status"]))
        if response is None:
            problems.append(f"{where}: status not declared (declared: {sorted(operation.get('responses', {}))})")
            continue
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].split("/")[-1]]
        content = response.get("content", {}).get("application/json")
        if content is None:
            if sample["body"] not in (None, ""):
                problems.append(f"{where}: a body came where the document declares none")
            continue
        schema = dict(content["schema"], components=spec["components"])
        validator = jsonschema.Draft7Validator(schema)
        for error in validator.iter_errors(sample["body"]):
            location = "/".join(str(part) for part in error.absolute_path) or "(body)"
            problems.append(f"{where}: {location}: {error.message}")
    for problem in problems:
        print(problem)
    print(f"{len(samples)} responses checked, {len(problems)} problem(s)")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
