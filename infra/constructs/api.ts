/**
 * The HTTP API in front of handlers/api.ts. Every route needs a SigV4-signed request from an IAM
 * principal allowed `execute-api:Invoke` (the CLI signs with your AWS credentials), except the
 * unsubscribe pages under /u/: recipients open those from their mail client, and the signed token in
 * the link is what authorises them (core/compliance/unsubscribe.ts).
 */
import * as apigw from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { UNSUBSCRIBE_PATH } from '../../core/compliance/unsubscribe.ts';
import { acknowledge } from '../nag.ts';

export interface ApiProps {
  logRetention: logs.RetentionDays;
}

export class Api extends Construct {
  readonly httpApi: apigw.HttpApi;
  /** The base URL, without a trailing slash. */
  readonly url: string;

  constructor(scope: Construct, id: string, props: ApiProps) {
    super(scope, id);
    this.httpApi = new apigw.HttpApi(this, 'HttpApi', {
      description: 'sixback API (IAM-authorised; /u/ unsubscribe pages are public)',
      createDefaultStage: false,
    });
    const accessLogs = new logs.LogGroup(this, 'AccessLogs', { retention: props.logRetention });
    new apigw.HttpStage(this, 'DefaultStage', {
      httpApi: this.httpApi,
      stageName: '$default',
      autoDeploy: true,
      accessLogSettings: { destination: new apigw.LogGroupLogDestination(accessLogs) },
      // A ceiling against runaway clients; the API's own work per request is small.
      throttle: { rateLimit: 50, burstLimit: 100 },
    });
    this.url = this.httpApi.apiEndpoint;
  }

  /** Routes every request to the API function: IAM-authorised, unsubscribe pages public. */
  addHandler(fn: lambda.IFunction): void {
    const integration = new HttpLambdaIntegration('ApiIntegration', fn);
    this.httpApi.addRoutes({
      path: '/{proxy+}',
      methods: [apigw.HttpMethod.ANY],
      integration,
      authorizer: new HttpIamAuthorizer(),
    });
    const unsubscribe = this.httpApi.addRoutes({
      // GET shows the page, POST unsubscribes (RFC 8058); ANY also answers mail scanners' HEAD.
      path: `${UNSUBSCRIBE_PATH}{proxy+}`,
      methods: [apigw.HttpMethod.ANY],
      integration,
      authorizer: new apigw.HttpNoneAuthorizer(),
    });
    for (const route of unsubscribe) {
      acknowledge(route, [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'Unsubscribe links are opened by email recipients, who have no AWS identity; each link carries an HMAC-signed token that the handler verifies (RFC 8058 one-click).',
        },
      ]);
    }
  }
}
