# In the style of the 2009 djng examples (simonw/djng): the same calls, written anew.
import djng, os, datetime

here = os.path.dirname(os.path.abspath(__file__))
djng.template.configure(os.path.join(here, 'example_templates'))

def clock(request):
    now = datetime.datetime.now()
    return djng.template.TemplateResponse(request, 'example.html', {
        'today': now.strftime('%Y-%m-%d'),
    })

if __name__ == '__main__':
    djng.serve(clock, '0.0.0.0', 8888)
