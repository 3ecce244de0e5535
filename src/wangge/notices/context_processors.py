def unread_notifications(request):
    return {}
