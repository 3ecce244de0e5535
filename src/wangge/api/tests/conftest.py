def codes(response) -> set[str]:
    """The unit codes in a list answer."""
    return {item["code"] for item in response.json()["results"]}
