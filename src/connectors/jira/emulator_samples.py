"""The untidy shapes a real Jira site sends, for the emulator's realistic mode.

Modelled on Atlassian's documented examples:
- Get fields (schema.type/custom per field, JSM's locked ``com.atlassian.servicedesk:*`` types):
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issue-fields/#api-rest-api-3-field-get
- Get current user (``accountType``, ``timeZone``):
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/#api-rest-api-3-myself-get
- Get changelogs (``PageBeanChangelog``: startAt, maxResults, total, isLast, values):
  https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-issues/#api-rest-api-3-issue-issueidorkey-changelog-get
- Data Center users (``key``/``name``, no accountId) and v2 wiki bodies:
  https://developer.atlassian.com/server/jira/platform/jira-rest-api-example-add-comment-8946422
"""

from __future__ import annotations

from typing import Any

# Our fields on a realistic site: ids that are not the tidy defaults, types as admins pick them
# (tier a multi-select, affected users a text field holding "1,200").
REALISTIC_CUSTOM = {
    "category": "customfield_10127",
    "customer_tier": "customfield_10128",
    "affected_users": "customfield_10129",
    "organization": "customfield_10002",
}
TIDY_CUSTOM = {
    "category": "customfield_10050",
    "customer_tier": "customfield_10051",
    "affected_users": "customfield_10052",
    "organization": "customfield_10002",
}
FIELD_NAMES = {
    "category": "Category",
    "customer_tier": "Customer Tier",
    "affected_users": "Affected Users",
    "organization": "Organizations",
}


def custom_schema(logical: str, field_id: str, realistic: bool) -> dict[str, Any]:
    number = int(field_id.rsplit("_", 1)[1])
    if logical == "organization":
        return {"type": "array", "items": "sd-customerorganization",
                "custom": "com.atlassian.servicedesk:sd-customer-organizations",
                "customId": number}  # fmt: skip
    if logical == "customer_tier" and realistic:
        return {"type": "array", "items": "option",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:multiselect",
                "customId": number}  # fmt: skip
    if logical == "affected_users":
        if realistic:
            return {"type": "string",
                    "custom": "com.atlassian.jira.plugin.system.customfieldtypes:textfield",
                    "customId": number}  # fmt: skip
        return {"type": "number",
                "custom": "com.atlassian.jira.plugin.system.customfieldtypes:float",
                "customId": number}  # fmt: skip
    return {"type": "option",
            "custom": "com.atlassian.jira.plugin.system.customfieldtypes:select",
            "customId": number}  # fmt: skip


# JSM's own fields on low ids: never ours, whatever their names.
JSM_FIELDS: list[tuple[str, str, dict[str, Any], Any]] = [
    ("customfield_10003", "Approvals",
     {"type": "sd-approvals", "custom": "com.atlassian.servicedesk:sd-approvals"}, []),
    ("customfield_10004", "Satisfaction",  # empty until rated; its value shape is undocumented
     {"type": "sd-feedback", "custom": "com.atlassian.servicedesk:sd-request-feedback"},
     None),
    ("customfield_10005", "Request language",
     {"type": "language", "custom": "com.atlassian.servicedesk:sd-request-language"},
     {"languageCode": "en", "displayName": "English"}),
    ("customfield_10006", "Category",  # JSM's request-type category: same name as ours
     {"type": "option", "custom": "com.atlassian.servicedesk:sd-request-type-category"},
     {"value": "Get IT help", "id": "1"}),
]  # fmt: skip

# JSM's "Satisfaction date", on every Cloud service project (tidy or not): a datetime set when
# the customer rates the request (the field list's shape as in "Get fields" above).
FEEDBACK_DATE_FIELD = (
    "customfield_10007",
    "Satisfaction date",
    {"type": "datetime", "custom": "com.atlassian.servicedesk:sd-request-feedback-date"},
)


def feedback_body(rating: int, comment: str | None) -> dict[str, Any]:
    """JSM Cloud "Get feedback" (CSATFeedbackFullDTO: type, rating 1-5, comment.body):
    https://developer.atlassian.com/cloud/jira/service-desk/rest/api-group-request/#api-rest-servicedeskapi-request-requestidorkey-feedback-get
    """
    body: dict[str, Any] = {"type": "csat", "rating": rating}
    if comment is not None:
        body["comment"] = {"body": comment}
    return body


def desk_error(message: str) -> dict[str, Any]:
    """The service desk API's error body (``errorMessage`` + ``i18nErrorMessage``), not the
    platform's ``errorMessages`` list."""
    return {
        "errorMessage": message,
        "i18nErrorMessage": {"i18nKey": "sd.request.feedback.error", "parameters": []},
    }


AUTOMATION_NAME = "Automation for Jira"
AUTO_REPLY = "Thanks for contacting support. An agent will pick up your request shortly."


def rank_item() -> dict[str, Any]:
    """A changelog item nobody needs (board ranking): what makes real changelogs long."""
    return {"field": "Rank", "fieldtype": "custom", "fieldId": "customfield_10019",
            "from": "", "fromString": "", "to": "", "toString": "Ranked higher"}  # fmt: skip
