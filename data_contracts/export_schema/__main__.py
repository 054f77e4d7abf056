"""`uv run python -m data_contracts.export_schema`: rewrite the JSON Schemas, print the README table."""

from data_contracts.export_schema import markdown_table, write_schemas

for written in write_schemas():
    print(written)
print(markdown_table())
