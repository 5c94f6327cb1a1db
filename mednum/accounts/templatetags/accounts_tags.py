"""Permission checks in templates.

    {% load accounts_tags %}
    {% can request.user "lieu.change" lieu as peut_modifier %}
    {% if peut_modifier %}<a class="fr-btn" href="…">Modifier</a>{% endif %}

    {% can_anywhere request.user "lieu.moderate" as peut_moderer %}
"""

from django import template

from mednum.accounts import permissions

register = template.Library()


@register.simple_tag(name="can")
def can_tag(user, action, obj=None):
    return permissions.can(user, action, obj)


@register.simple_tag(name="can_anywhere")
def can_anywhere_tag(user, action):
    return permissions.can_anywhere(user, action)


@register.filter
def duree(value):
    """A `timedelta` in French words: « 30 minutes », « 1 heure », « 1 heure 30 minutes »."""
    try:
        total_minutes = max(1, round(value.total_seconds() / 60))
    except AttributeError:
        return ""
    hours, minutes = divmod(total_minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} heure{'s' if hours > 1 else ''}")
    if minutes:
        parts.append(f"{minutes} minute{'s' if minutes > 1 else ''}")
    return " ".join(parts)
