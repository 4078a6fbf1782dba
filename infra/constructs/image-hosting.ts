/**
 * Images that emails point at must stay fetchable by any mail client for years, while the bucket stays
 * private. CloudFront serves the bucket through an origin access control, and the bucket lets that one
 * distribution read the `images/` prefix only: a URL naming any other key gets a 403 from S3.
 *
 * URL of an image: `${baseUrl}/${key}` with key = `images/...`, the same shape as the local stack's
 * `http://host:port/bucket/images/...`.
 */
import { Stack } from 'aws-cdk-lib';
import * as cloudfront from 'aws-cdk-lib/aws-cloudfront';
import * as origins from 'aws-cdk-lib/aws-cloudfront-origins';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { keys } from '../../core/config.ts';
import { acknowledge } from '../nag.ts';

export interface ImageHostingProps {
  bucket: s3.IBucket;
}

export class ImageHosting extends Construct {
  readonly distribution: cloudfront.Distribution;
  /** https://<distribution domain>, the value of SIXBACK_IMAGES_BASE_URL. */
  readonly baseUrl: string;

  constructor(scope: Construct, id: string, props: ImageHostingProps) {
    super(scope, id);
    const accessControl = new cloudfront.S3OriginAccessControl(this, 'OriginAccessControl', {
      description: 'sixback images: CloudFront signs its reads of the private bucket',
    });
    // withBucketDefaults + our own bucket statement: withOriginAccessControl would grant the whole bucket.
    const origin = origins.S3BucketOrigin.withBucketDefaults(props.bucket, {
      originAccessControlId: accessControl.originAccessControlId,
    });
    this.distribution = new cloudfront.Distribution(this, 'Distribution', {
      comment: 'sixback: images referenced by campaign emails',
      defaultBehavior: {
        origin,
        viewerProtocolPolicy: cloudfront.ViewerProtocolPolicy.REDIRECT_TO_HTTPS,
        allowedMethods: cloudfront.AllowedMethods.ALLOW_GET_HEAD,
        cachePolicy: cloudfront.CachePolicy.CACHING_OPTIMIZED,
        compress: true,
      },
      priceClass: cloudfront.PriceClass.PRICE_CLASS_ALL,
      httpVersion: cloudfront.HttpVersion.HTTP2_AND_3,
    });
    const { statementAdded } = props.bucket.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudFrontReadsImagesOnly',
        principals: [new iam.ServicePrincipal('cloudfront.amazonaws.com')],
        actions: ['s3:GetObject'],
        resources: [props.bucket.arnForObjects(`${keys.imagesPrefix}*`)],
        conditions: {
          StringEquals: {
            'AWS:SourceArn': Stack.of(this).formatArn({
              service: 'cloudfront',
              region: '',
              resource: 'distribution',
              resourceName: this.distribution.distributionId,
            }),
          },
        },
      }),
    );
    // A bucket imported without a policy of this stack would drop the statement silently: images 403.
    if (!statementAdded) throw new Error('ImageHosting needs a bucket whose policy this stack manages.');
    this.baseUrl = `https://${this.distribution.distributionDomainName}`;

    acknowledge(this.distribution, [
      {
        id: 'AwsSolutions-CFR1',
        reason: 'Campaign emails go to recipients anywhere; images must load in every country.',
      },
      {
        id: 'AwsSolutions-CFR2',
        reason:
          'Serves static images by URL, no application behind it; GETs cost the same cached or not. Add a WAF web ACL if abuse shows up.',
      },
      {
        id: 'AwsSolutions-CFR3',
        reason:
          'Standard access logs need an ACL-enabled bucket; image fetches by mail clients are not an audit trail worth that. Enable CloudFront logging v2 if needed.',
      },
      {
        id: 'AwsSolutions-CFR4',
        reason:
          'Uses the default *.cloudfront.net certificate, whose security policy CloudFront fixes; put a custom domain and certificate in front to raise the minimum TLS version.',
      },
    ]);
  }
}
