from django import template

from products.rendering import markdown_render

register = template.Library()


@register.filter(name="markdown")
def markdown_filter(text: str):
    return markdown_render(text)
